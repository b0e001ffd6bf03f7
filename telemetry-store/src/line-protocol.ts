import type { Point } from './types';

// Escaping rules of the InfluxDB line protocol (same for 1.x, 2.x and 3.x).
const escapeMeasurement = (s: string) => s.replace(/[\\,\s]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const escapeKey = (s: string) => s.replace(/[\\,=\s]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const escapeFieldString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function fieldValue(v: number | string | boolean): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return escapeFieldString(v);
  // Every number is a float field (no `i` suffix): a field's type is fixed per shard, and a
  // counter that happens to be whole must not become an integer field.
  if (!Number.isFinite(v)) throw new RangeError(`line protocol: non-finite field value ${v}`);
  return String(v);
}

/** One point as a line, timestamp in ms (write with precision=ms). Tags sorted, as InfluxDB prefers. */
export function toLineProtocol(p: Omit<Point, 'measurement'> & { measurement: string }): string {
  const tags = Object.keys(p.tags)
    .sort()
    .filter((k) => p.tags[k] !== '')
    .map((k) => `,${escapeKey(k)}=${escapeKey(p.tags[k]!)}`)
    .join('');
  const fields = Object.keys(p.fields)
    .sort()
    .map((k) => `${escapeKey(k)}=${fieldValue(p.fields[k]!)}`)
    .join(',');
  return `${escapeMeasurement(p.measurement)}${tags} ${fields} ${Math.trunc(p.ts)}`;
}
