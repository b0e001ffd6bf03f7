import type { InfluxPoint } from './pending-marks';

// Line protocol as the InfluxDB stores send it (escaping as ../line-protocol.ts, which stays the
// reference: line-writer.test.ts checks both agree). Ingest gives every point of a device the same
// frozen tags object (broker/src/ingest/points.ts SharedTags), so the `measurement,tags` part of a
// line is built once per device and found by the object's identity; field names are escaped once.
// The serializer was ~25 % of ingest's busy CPU in `npm run bench -- ingest` (profile, session 5).

const escapeMeasurement = (s: string) => s.replace(/[\\,\s]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const escapeKey = (s: string) => s.replace(/[\\,=\s]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const NEEDS_STRING_ESCAPE = /[\\"]/;

/** `measurement,tags` of frozen tags objects (weak: a device's object goes when ingest drops it). */
const prefixes = new WeakMap<object, { measurement: string; prefix: string }>();
/** escaped field names; bounded: cleared when a store writes that many distinct names */
const fieldKeys = new Map<string, string>();
const MAX_FIELD_KEYS = 10_000;

function prefixOf(p: InfluxPoint): string {
  const tags = Object.keys(p.tags)
    .sort()
    .filter((k) => p.tags[k] !== '')
    .map((k) => `,${escapeKey(k)}=${escapeKey(p.tags[k]!)}`)
    .join('');
  return `${escapeMeasurement(p.measurement)}${tags}`;
}

function fieldKey(k: string): string {
  let escaped = fieldKeys.get(k);
  if (escaped === undefined) {
    if (fieldKeys.size >= MAX_FIELD_KEYS) fieldKeys.clear();
    escaped = escapeKey(k);
    fieldKeys.set(k, escaped);
  }
  return escaped;
}

function fieldValue(v: number | string | boolean): string {
  if (typeof v === 'number') {
    // Every number is a float field (no `i` suffix): a field's type is fixed per shard, and a
    // counter that happens to be whole must not become an integer field.
    if (!Number.isFinite(v)) throw new RangeError(`line protocol: non-finite field value ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return NEEDS_STRING_ESCAPE.test(v) ? `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${v}"`;
}

/** One point as a line, timestamp in ms (write with precision=ms); tags sorted, fields in their object's order. */
export function pointLine(p: InfluxPoint): string {
  let prefix: string;
  if (Object.isFrozen(p.tags)) {
    const cached = prefixes.get(p.tags);
    if (cached !== undefined && cached.measurement === p.measurement) prefix = cached.prefix;
    else {
      prefix = prefixOf(p);
      prefixes.set(p.tags, { measurement: p.measurement, prefix });
    }
  } else prefix = prefixOf(p);
  let fields = '';
  for (const k in p.fields) {
    const v = p.fields[k];
    if (v === undefined) continue;
    fields += `${fields === '' ? '' : ','}${fieldKey(k)}=${fieldValue(v)}`;
  }
  return `${prefix} ${fields} ${Math.trunc(p.ts)}`;
}

/** A request body: the points' lines joined by newlines. */
export function linesOf(points: readonly InfluxPoint[]): string {
  let body = '';
  for (let i = 0; i < points.length; i++) body += i === 0 ? pointLine(points[i]!) : `\n${pointLine(points[i]!)}`;
  return body;
}
