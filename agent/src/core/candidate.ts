import { parseJson, toPayloadError, type Decoded } from '@poste/protocol';
import type { z } from 'zod';

/** Raw bytes or text as an adapter received them (as opposed to an object it already mapped). */
function isRaw(value: unknown): value is Uint8Array | string {
  return typeof value === 'string' || value instanceof Uint8Array;
}

/** A zero-length raw payload: how MQTT clears a retained message. */
export function isEmptyRaw(value: unknown): boolean {
  return isRaw(value) && value.length === 0;
}

/**
 * Validates what an adapter handed in against a Poste schema: raw JSON is parsed first, an object
 * is taken as is. Poste payloads are all JSON objects, so a string can only be JSON text.
 */
export function validateCandidate<S extends z.ZodType>(schema: S, value: unknown): Decoded<z.output<S>> {
  let candidate = value;
  if (isRaw(value)) {
    const json = parseJson(value);
    if (!json.ok) return json;
    candidate = json.value;
  }
  const r = schema.safeParse(candidate);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: toPayloadError(r.error) };
}
