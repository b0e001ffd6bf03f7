import { keyId, type RolledMeasurement } from '../rollups/rows';
import type { Point } from '../types';
import type { InfluxQLSeries, RunInfluxQL } from './reads';
import { recordsOf } from './records';

/** A point as the InfluxDB backends write it (marks and rollup points have their own measurement names). */
export type InfluxPoint = Omit<Point, 'measurement'> & { measurement: string };

/**
 * Durable "rollup rows may lag" marks of the InfluxDB rollup layer (rollup-layer.ts). The layer
 * writes a series-hour's rollup row some time after the raw points that changed it (coalesced);
 * the request carrying those raw points also carries a mark naming the series-hour, so a crash
 * before the row is written leaves a record of what to recompute from raw at the next open.
 *
 * Marks are points of one series (no tags) at strictly increasing times (a clock of the layer's,
 * ms). Once every row dirtied up to mark time T is written, the layer writes a watermark point at
 * time T: marks at or before the latest watermark are done. Both measurements are read by time
 * range only (the newest watermark, the marks after it), so their size does not slow an open,
 * and old points are deleted from time to time (deleteBefore in the layer's options).
 */
export const PENDING_MEASUREMENT = 'rollup_pending';
export const FLUSHED_MEASUREMENT = 'rollup_flushed';

/** A mark's string field stays well under InfluxDB's 64 KB limit for a string field value. */
const MAX_MARK_CHARS = 32_000;

export interface SeriesHour {
  m: RolledMeasurement;
  key: readonly string[];
  hour: number;
}

/** keyId of a row's key array: rows of a series-hour share theirs (cloneRow), and the writer names every row it plans. */
const keyIds = new WeakMap<readonly string[], string>();

export function seriesHourId(m: RolledMeasurement, key: readonly string[], hour: number): string {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = keyId(key);
    keyIds.set(key, id);
  }
  return `${m}|${id}|${hour}`;
}

/** One mark entry: the measurement, the series key without its last part, the hour, the last parts (devices). */
type MarkEntry = [RolledMeasurement, string[], number, string[]];

/** Mark points naming `list`, each at the time `nextTime()` gives; devices of one gateway-hour share an entry. */
export function markPoints(list: readonly SeriesHour[], nextTime: () => number): InfluxPoint[] {
  const groups = new Map<string, MarkEntry>();
  for (const { m, key, hour } of list) {
    const prefix = key.slice(0, -1);
    const id = `${m}|${keyId(prefix)}|${hour}`;
    const entry = groups.get(id);
    if (entry) entry[3].push(key[key.length - 1] ?? '');
    else groups.set(id, [m, prefix, hour, [key[key.length - 1] ?? '']]);
  }
  const points: InfluxPoint[] = [];
  let chunk: string[] = [];
  let chars = 0;
  const cut = () => {
    if (chunk.length === 0) return;
    points.push({ measurement: PENDING_MEASUREMENT, tags: {}, fields: { series: `[${chunk.join(',')}]` }, ts: nextTime() });
    chunk = [];
    chars = 0;
  };
  for (const entry of groups.values()) {
    // One gateway-hour with very many devices is split too, so that no mark outgrows the limit.
    for (const devices of splitBySize(entry[3], MAX_MARK_CHARS / 2)) {
      const text = JSON.stringify([entry[0], entry[1], entry[2], devices]);
      if (chars + text.length > MAX_MARK_CHARS) cut();
      chunk.push(text);
      chars += text.length + 1;
    }
  }
  cut();
  return points;
}

function splitBySize(items: readonly string[], maxChars: number): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const item of items) {
    const n = JSON.stringify(item).length + 1;
    if (current.length > 0 && chars + n > maxChars) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(item);
    chars += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The watermark point: every row dirtied by a mark at or before `upTo` is written. */
export function watermarkPoint(upTo: number): InfluxPoint {
  return { measurement: FLUSHED_MEASUREMENT, tags: {}, fields: { marks_upto: upTo }, ts: upTo };
}

export interface PendingState {
  /** series-hours named by marks after the newest watermark (their rows may be stale or missing) */
  pending: SeriesHour[];
  /** the newest mark's or watermark's time: the layer's mark clock continues after it */
  lastTime: number;
}

/** The marks no watermark covers yet: what a layer that stopped without writing their rows left. */
export async function readPending(run: RunInfluxQL): Promise<PendingState> {
  // Series of another name are not ours (a proxy or test endpoint answering every query alike).
  const only = (name: string, series: InfluxQLSeries[]) => recordsOf(series.filter((s) => s.name === name));
  const last = only(FLUSHED_MEASUREMENT, await run(`SELECT * FROM "${FLUSHED_MEASUREMENT}" ORDER BY time DESC LIMIT 1`))[0];
  const watermark = last === undefined ? undefined : Number(last.time);
  const marks = only(
    PENDING_MEASUREMENT,
    await run(`SELECT * FROM "${PENDING_MEASUREMENT}"${watermark === undefined ? '' : ` WHERE time > ${watermark}ms`}`),
  );
  const pending: SeriesHour[] = [];
  let lastTime = watermark ?? 0;
  for (const o of marks) {
    lastTime = Math.max(lastTime, Number(o.time));
    if (typeof o.series !== 'string') throw new Error(`influx: ${PENDING_MEASUREMENT} point at ${String(o.time)} without a series field`);
    for (const [m, prefix, hour, devices] of JSON.parse(o.series) as MarkEntry[])
      for (const device of devices) pending.push({ m, key: [...prefix, device], hour });
  }
  return { pending, lastTime };
}
