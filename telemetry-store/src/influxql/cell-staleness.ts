import type { StaleCellDays } from '../types';
import { alignUp, BLOCK_SPANS, CELL_DAYS_MEASUREMENT, CELL_PACK_MEASUREMENT, cellDirectoryPoint, dayId, directoryOf } from './cell-packs';
import { DAY_MS, tierDayOf } from './day-sums';
import { DAY_MARK_MEASUREMENT } from './day-tier';
import { type InfluxPoint, readPending } from './pending-marks';
import { type RunInfluxQL, stringLiteral } from './reads';

/**
 * The whole tier days of [from, to) whose savings-cell pack of `municipality` under baselines
 * `version` is not current — the days a read of that range would sum from the hour rows
 * (cell-tier.ts applies the same rule: the pack's stamp is the day's mark, 0 for a day ingest has
 * not marked, every part carries it, and no rollup mark of the municipality-day is pending).
 *
 * `blockWindows`: the aligned windows of the largest block span inside [from, to); a read of one
 * whose days are all current packs every block it holds (cell-tier.ts's blocksToPack).
 *
 * For a builder that packs ahead of the reads (dashboard-api's pack-builder.ts): it reads only the
 * marks and the packs' stamps (not their cells), so asking about 400 days costs a few ms.
 */
export async function staleCellDays(
  run: RunInfluxQL,
  municipality: string,
  from: number,
  to: number,
  version: string,
): Promise<StaleCellDays> {
  const scope = `"municipality" = ${stringLiteral(municipality)} AND time >= ${from}ms AND time < ${to}ms`;
  const [marks, packs, pending] = await Promise.all([
    run(`SELECT "v" FROM "${DAY_MARK_MEASUREMENT}" WHERE ${scope}`),
    run(`SELECT "stamp", "parts" FROM "${CELL_PACK_MEASUREMENT}" WHERE ${scope} AND "bv" = ${stringLiteral(version)}`),
    readPending(run),
  ]);
  const markOf = new Map<number, number>();
  for (const s of marks) for (const row of s.values) markOf.set(Number(row[0]), Number(row[1]));
  const inFlux = new Set<string>();
  for (const p of pending.pending) if (p.m === 'luminaire') inFlux.add(dayId(p.key[0] ?? '', tierDayOf(p.hour)));
  // Per day: the head's part count and how many parts carry the day's mark.
  const heads = new Map<number, number>();
  const current = new Map<number, number>();
  for (const s of packs) {
    const at = (c: string) => s.columns.indexOf(c);
    const [iT, iS, iP] = [at('time'), at('stamp'), at('parts')];
    for (const row of s.values) {
      const t = Number(row[iT]);
      const day = tierDayOf(t);
      if (Number(row[iS]) !== (markOf.get(day) ?? 0)) continue;
      if (t === day) heads.set(day, Number(row[iP]));
      if (t - day < Number(row[iP])) current.set(day, (current.get(day) ?? 0) + 1);
    }
  }
  const stale: number[] = [];
  for (let d = tierDayOf(from) === from ? from : tierDayOf(from) + DAY_MS; d + DAY_MS <= to; d += DAY_MS) {
    const parts = heads.get(d);
    if (inFlux.has(dayId(municipality, d)) || parts === undefined || (current.get(d) ?? 0) < parts) stale.push(d);
  }
  const span = BLOCK_SPANS[0];
  const blockWindows: Array<[number, number]> = [];
  for (let start = alignUp(from, span); start + span * DAY_MS <= to; start += span * DAY_MS)
    blockWindows.push([start, start + span * DAY_MS]);
  return { stale, blockWindows };
}

/**
 * The day lists (`energy_cell_days`) a programme-wide read needs to take each municipality's pack
 * instead of summing the whole programme's day, for the days of [from, to) whose list under
 * `version` is missing or differs from the municipalities ingest marked that day. A read writes
 * them only when it summed the programme's day; a builder packing municipality by municipality
 * writes them here. Days without any mark or with a rollup mark pending get none (a read decides).
 */
export async function missingCellDirectories(run: RunInfluxQL, from: number, to: number, version: string): Promise<InfluxPoint[]> {
  const range = `time >= ${from}ms AND time < ${to}ms`;
  const [marks, listed, pending] = await Promise.all([
    run(`SELECT "v" FROM "${DAY_MARK_MEASUREMENT}" WHERE ${range} GROUP BY "municipality"`),
    run(`SELECT "municipalities", "stamp" FROM "${CELL_DAYS_MEASUREMENT}" WHERE "bv" = ${stringLiteral(version)} AND ${range}`),
    readPending(run),
  ]);
  const marked = new Map<number, Set<string>>();
  for (const s of marks) {
    const m = s.tags?.municipality ?? '';
    for (const row of s.values) {
      const set = marked.get(Number(row[0])) ?? new Set<string>();
      marked.set(Number(row[0]), set);
      set.add(m);
    }
  }
  const inFlux = new Set<number>();
  for (const p of pending.pending) if (p.m === 'luminaire') inFlux.add(tierDayOf(p.hour));
  const lists = directoryOf(listed);
  const out: InfluxPoint[] = [];
  for (const [day, set] of marked) {
    if (day !== tierDayOf(day) || day + DAY_MS > to || inFlux.has(day)) continue;
    const ms = [...set].sort();
    if (JSON.stringify(lists.get(day)) === JSON.stringify(ms)) continue;
    const point = cellDirectoryPoint(day, version, ms);
    if (point) out.push(point);
  }
  return out;
}
