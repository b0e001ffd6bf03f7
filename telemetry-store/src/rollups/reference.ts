import { SERIES_KEY_TAGS } from '../measurements';
import type { HourQuery, Point } from '../types';
import { type Chain, hourOf, reduceHour, type RolledMeasurement, type RollupRow, compareRows, seriesId } from './rows';

/**
 * Rollup rows recomputed from raw readings: the definition every store's maintained rollups must
 * equal (the property test compares them), and how the memory store answers. Readings of one series
 * are taken in ts order (one per ts: the first written wins, as in the stores), each hour folded
 * onto the chain the previous hours left.
 */
export function rowsFromReadings(m: RolledMeasurement, points: readonly Point[]): RollupRow[] {
  const bySeries = new Map<string, Map<number, Point>>();
  for (const p of points) {
    if (p.measurement !== m) continue;
    const id = seriesId(p);
    const series = bySeries.get(id) ?? new Map<number, Point>();
    bySeries.set(id, series);
    if (!series.has(p.ts)) series.set(p.ts, p);
  }
  const out: RollupRow[] = [];
  for (const series of bySeries.values())
    out.push(
      ...seriesRows(
        m,
        [...series.values()].sort((a, b) => a.ts - b.ts),
      ),
    );
  return out.sort(compareRows);
}

/** The rows of one series from its readings sorted by ts (one per ts). */
export function seriesRows(m: RolledMeasurement, sorted: readonly Point[], before?: Chain): RollupRow[] {
  const out: RollupRow[] = [];
  let chain = before;
  for (let i = 0; i < sorted.length; ) {
    const h = hourOf(sorted[i]!.ts);
    let j = i;
    while (j < sorted.length && hourOf(sorted[j]!.ts) === h) j++;
    const row = reduceHour(m, chain, sorted.slice(i, j));
    out.push(row);
    chain = row.chain;
    i = j;
  }
  return out;
}

/** Does a row pass a rollup query's filters? `device` is the last series-key tag (luminaire / ap). */
export function rowMatches(m: RolledMeasurement, row: RollupRow, q: HourQuery): boolean {
  if (row.hourStart < q.from || row.hourStart >= q.to) return false;
  const tags = SERIES_KEY_TAGS[m];
  const at = (name: string) => row.key[tags.indexOf(name as never)];
  if (q.municipality !== undefined && at('municipality') !== q.municipality) return false;
  if (q.gateway !== undefined && at('gateway') !== q.gateway) return false;
  if (q.device !== undefined && row.key[tags.length - 1] !== q.device) return false;
  return true;
}
