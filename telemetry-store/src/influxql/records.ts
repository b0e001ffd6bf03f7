import { SERIES_KEY_TAGS } from '../measurements';
import type { Point } from '../types';
import type { InfluxQLSeries } from './reads';

/** Each row of each series as one record: the series' tags, then the row's columns by name. */
export function recordsOf(series: readonly InfluxQLSeries[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const s of series) {
    for (const row of s.values) {
      const o: Record<string, unknown> = { ...(s.tags ?? {}) };
      s.columns.forEach((c, i) => {
        o[c] = row[i];
      });
      out.push(o);
    }
  }
  return out;
}

/** A raw record as a point: the series key and a luminaire's group are tags, other non-null columns fields. */
export function pointFromRecord(m: Point['measurement'], o: Record<string, unknown>): Point {
  const tags: Record<string, string> = {};
  const fields: Point['fields'] = {};
  const keyTags = new Set<string>(SERIES_KEY_TAGS[m]);
  for (const [name, value] of Object.entries(o)) {
    if (name === 'time' || value === null || value === undefined || value === '') continue;
    if (keyTags.has(name) || (m === 'luminaire' && name === 'group')) tags[name] = String(value);
    else fields[name] = value as number | string | boolean;
  }
  return { measurement: m, tags, fields, ts: Number(o.time) };
}
