import type { z } from 'zod';
import { DeviceEventSchema, EventBatchEnvelopeSchema, type DeviceEvent } from './events';
import { checkJsonBounds, checkJsonSize, parsesCheaply } from './json-bounds';
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
    return { ok: true, value: JSON.parse(jsonText(payload)) as unknown };
  } catch (err) {
    return { ok: false, error: notJson(err) };
  }
}

function jsonText(payload: Uint8Array | string): string {
  if (typeof payload === 'string') return payload;
  // A view on the payload's bytes, not a copy (an MQTT payload is already a Buffer).
  return Buffer.isBuffer(payload)
    ? payload.toString('utf8')
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
}

function notJson(err: unknown): PayloadError {
  return { path: '', reason: `not JSON: ${(err as Error).message}` };
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

/** A batch envelope: its sequence number and its items, not yet decoded. */
interface BatchKind<E> {
  schema: z.ZodType<E>;
  fast: FastPath<E> | null;
  field: string;
  items: (envelope: E) => { seq: number; raw: unknown[] };
}

/**
 * Decodes a batch (envelope, then each item on its own). Unlike `decode`, it parses a payload with
 * few brackets (json-bounds.ts, parsesCheaply) before it scans the bytes for depth: JSON.parse is
 * iterative in V8 (a 1,000,000-deep array parses without a stack overflow), and when the envelope
 * and every item pass their compiled fast paths, what is returned holds only the schemas' own
 * fields, checked flat values — an unknown nested value is left behind, as zod strips it. Only when
 * zod is about to see part of the payload (or when it is not JSON) does the byte scan run, first,
 * so every refusal is the one `decode` gives. The scan cost about 0.45 µs a reading, a tenth of
 * ingest's work per reading, on every batch.
 */
function decodeBatch<E, T>(
  kind: BatchKind<E>,
  payload: Uint8Array | string,
  schema: z.ZodType<T>,
  fast: FastPath<T> | null,
): DecodedBatch<T> {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const tooLarge = checkJsonSize(bytes.length);
  if (tooLarge) return { ok: false, error: tooLarge };
  let scanned = false;
  /** The depth refusal, checked once, before the first value zod sees. */
  const tooDeep = (): PayloadError | null => {
    if (scanned) return null;
    scanned = true;
    return checkJsonBounds(bytes);
  };
  if (!parsesCheaply(bytes)) {
    const deep = tooDeep();
    if (deep) return { ok: false, error: deep };
  }
  let value: unknown;
  try {
    value = JSON.parse(jsonText(payload)) as unknown;
  } catch (err) {
    return { ok: false, error: tooDeep() ?? notJson(err) };
  }
  let envelope = kind.fast?.(value);
  if (envelope === undefined) {
    const deep = tooDeep();
    if (deep) return { ok: false, error: deep };
    const r = kind.schema.safeParse(value);
    if (!r.success) return { ok: false, error: toPayloadError(r.error) };
    envelope = r.data;
  }
  const { seq, raw } = kind.items(envelope);
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
    const deep = tooDeep();
    if (deep) return { ok: false, error: deep };
    const r = schema.safeParse(item);
    if (r.success) items.push(r.data);
    else rejected.push({ index, error: toPayloadError(r.error, `${kind.field}[${index}]`) });
  }
  return { ok: true, seq, items, rejected };
}

const TELEMETRY_BATCH: BatchKind<z.output<typeof TelemetryBatchEnvelopeSchema>> = {
  schema: TelemetryBatchEnvelopeSchema,
  fast: telemetryEnvelopeFastPath,
  field: 'readings',
  items: (e) => ({ seq: e.seq, raw: e.readings }),
};

const EVENT_BATCH: BatchKind<z.output<typeof EventBatchEnvelopeSchema>> = {
  schema: EventBatchEnvelopeSchema,
  fast: eventEnvelopeFastPath,
  field: 'events',
  items: (e) => ({ seq: e.seq, raw: e.events }),
};

/** Luminaire telemetry batch: one bad reading never poisons the others. */
export function decodeLuminaireBatch(payload: Uint8Array | string): DecodedBatch<LuminaireReading> {
  return decodeBatch(TELEMETRY_BATCH, payload, LuminaireReadingSchema, luminaireReadingFastPath);
}

/** AP telemetry batch: one bad reading never poisons the others. */
export function decodeApBatch(payload: Uint8Array | string): DecodedBatch<ApReading> {
  return decodeBatch(TELEMETRY_BATCH, payload, ApReadingSchema, apReadingFastPath);
}

/** Event batch: one bad event never poisons the others. */
export function decodeEventBatch(payload: Uint8Array | string): DecodedBatch<DeviceEvent> {
  return decodeBatch(EVENT_BATCH, payload, DeviceEventSchema, deviceEventFastPath);
}

/** Serialises a payload for MQTT. */
export function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
