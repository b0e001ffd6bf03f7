import type { z } from 'zod';
import { DeviceEventSchema, EventBatchEnvelopeSchema, type DeviceEvent } from './events';
import { checkJsonBounds } from './json-bounds';
import {
  apReadingFastPath,
  deviceEventFastPath,
  eventEnvelopeFastPath,
  luminaireReadingFastPath,
  telemetryEnvelopeFastPath,
  type FastPath,
} from './reading-fast-path';
import { ApReadingSchema, LuminaireReadingSchema, TelemetryBatchEnvelopeSchema, type ApReading, type LuminaireReading } from './telemetry';

/** Why a payload was refused: where (a dotted path, `` for the root) and what. */
export interface PayloadError {
  path: string;
  reason: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: PayloadError };

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** First zod issue as a path + reason, e.g. `readings[3].dimLevel: Too big: expected number to be <=100`. */
export function toPayloadError(error: z.ZodError, prefix = ''): PayloadError {
  const issue = error.issues[0];
  if (!issue) return { path: prefix, reason: 'invalid' };
  const inner = issuePath(issue.path);
  const path = prefix && inner ? `${prefix}${inner.startsWith('[') ? '' : '.'}${inner}` : prefix || inner;
  return { path, reason: issue.message };
}

export function formatPayloadError(e: PayloadError): string {
  return e.path ? `${e.path}: ${e.reason}` : e.reason;
}

/**
 * Parses JSON bytes; a syntax error is reported with an empty path. Size and nesting depth are
 * checked before parsing (json-bounds.ts): a reason starting `JSON nested deeper` or `payload of`.
 */
export function parseJson(payload: Uint8Array | string): Decoded<unknown> {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const tooBig = checkJsonBounds(bytes);
  if (tooBig) return { ok: false, error: tooBig };
  try {
    // A view on the payload's bytes, not a copy (an MQTT payload is already a Buffer).
    const text =
      typeof payload === 'string'
        ? payload
        : Buffer.isBuffer(payload)
          ? payload.toString('utf8')
          : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: { path: '', reason: `not JSON: ${(err as Error).message}` } };
  }
}

/** Decodes JSON bytes against one schema (`fast`: its compiled fast path, zod deciding whatever it does not take). */
export function decode<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array | string,
  fast?: FastPath<z.output<S>> | null,
): Decoded<z.output<S>> {
  const json = parseJson(payload);
  if (!json.ok) return json;
  const quick = fast?.(json.value);
  if (quick !== undefined) return { ok: true, value: quick };
  const result = schema.safeParse(json.value);
  if (!result.success) return { ok: false, error: toPayloadError(result.error) };
  return { ok: true, value: result.data };
}

export interface RejectedItem {
  index: number;
  error: PayloadError;
}

/** A batch whose envelope is valid: the good items, and each bad one with its reason. */
export type DecodedBatch<T> = { ok: true; seq: number; items: T[]; rejected: RejectedItem[] } | { ok: false; error: PayloadError };

function decodeItems<T>(schema: z.ZodType<T>, field: string, seq: number, raw: unknown[], fast?: FastPath<T> | null): DecodedBatch<T> {
  const items: T[] = [];
  const rejected: RejectedItem[] = [];
  for (let index = 0; index < raw.length; index++) {
    const item = raw[index];
    // The compiled fast path takes the common case; zod has the last word on everything else.
    const quick = fast?.(item);
    if (quick !== undefined) {
      items.push(quick);
      continue;
    }
    const r = schema.safeParse(item);
    if (r.success) items.push(r.data);
    else rejected.push({ index, error: toPayloadError(r.error, `${field}[${index}]`) });
  }
  return { ok: true, seq, items, rejected };
}

function decodeTelemetryBatch<T>(schema: z.ZodType<T>, payload: Uint8Array | string, fast: FastPath<T> | null): DecodedBatch<T> {
  const env = decode(TelemetryBatchEnvelopeSchema, payload, telemetryEnvelopeFastPath);
  if (!env.ok) return env;
  return decodeItems(schema, 'readings', env.value.seq, env.value.readings, fast);
}

/** Luminaire telemetry batch: one bad reading never poisons the others. */
export function decodeLuminaireBatch(payload: Uint8Array | string): DecodedBatch<LuminaireReading> {
  return decodeTelemetryBatch(LuminaireReadingSchema, payload, luminaireReadingFastPath);
}

/** AP telemetry batch: one bad reading never poisons the others. */
export function decodeApBatch(payload: Uint8Array | string): DecodedBatch<ApReading> {
  return decodeTelemetryBatch(ApReadingSchema, payload, apReadingFastPath);
}

/** Event batch: one bad event never poisons the others. */
export function decodeEventBatch(payload: Uint8Array | string): DecodedBatch<DeviceEvent> {
  const env = decode(EventBatchEnvelopeSchema, payload, eventEnvelopeFastPath);
  if (!env.ok) return env;
  return decodeItems(DeviceEventSchema, 'events', env.value.seq, env.value.events, deviceEventFastPath);
}

/** Serialises a payload for MQTT. */
export function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
