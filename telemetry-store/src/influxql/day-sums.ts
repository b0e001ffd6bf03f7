import { UNGROUPED } from '../measurements';
import { HOUR_MS } from '../rollups/rows';
import type { LuminaireEnergy } from '../types';
import { type RunInfluxQL, stringLiteral } from './reads';
import { ROLLUP_MEASUREMENT } from './rollup-points';

/** Tier days start at this offset from UTC midnight (03:00 UTC = 00:00 at UTC−3, the embedded day tier's default). */
export const TIER_DAY_OFFSET_MS = 3 * HOUR_MS;
export const DAY_MS = 24 * HOUR_MS;
/** Longest run of days one programme-wide statement sums. */
const PROGRAMME_RUN_DAYS = 7;

/** Start of the tier day holding `ts`. */
export function tierDayOf(ts: number): number {
  return Math.floor((ts - TIER_DAY_OFFSET_MS) / DAY_MS) * DAY_MS + TIER_DAY_OFFSET_MS;
}

/**
 * Each asked-for tier day's per-luminaire sums from the hour rollups (what energyFromRollups gives
 * for that day alone), by day. One statement per run of consecutive days with GROUP BY time(1d):
 * InfluxDB 1.6's cost is per series and aggregate, so a run of days costs about what one day does.
 * Without a municipality every series of the database is read: runs of at most a week then, so
 * that no answer holds more than a week of every luminaire's days.
 */
export async function luminaireDaySums(
  run: RunInfluxQL,
  municipality: string | undefined,
  days: readonly number[],
): Promise<Map<number, LuminaireEnergy[]>> {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const day of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[1] === day && (municipality !== undefined || last[1] - last[0] < PROGRAMME_RUN_DAYS * DAY_MS)) last[1] = day + DAY_MS;
    else runs.push([day, day + DAY_MS]);
  }
  const out = new Map<number, LuminaireEnergy[]>();
  const filter = municipality === undefined ? '' : `"municipality" = ${stringLiteral(municipality)} AND `;
  for (const [from, to] of runs) {
    const series = await run(
      `SELECT sum("d0") AS "d0", sum("d1") AS "d1", sum("readings") AS "readings", min("first_ts") AS "first_ts", max("last_ts") AS "last_ts", ` +
        `last("grp") AS "grp" FROM "${ROLLUP_MEASUREMENT.luminaire}" WHERE ${filter}time >= ${from}ms AND time < ${to}ms ` +
        `GROUP BY time(1d, ${TIER_DAY_OFFSET_MS / HOUR_MS}h), "municipality", "gateway", "luminaire" fill(none)`,
    );
    for (const s of series) {
      const at = (c: string) => s.columns.indexOf(c);
      const [iT, iE, iH, iR, iF, iL, iG] = [at('time'), at('d0'), at('d1'), at('readings'), at('first_ts'), at('last_ts'), at('grp')];
      const tags = s.tags ?? {};
      for (const row of s.values) {
        const day = Number(row[iT]);
        const g = row[iG];
        const list = out.get(day) ?? [];
        out.set(day, list);
        list.push({
          municipality: tags.municipality ?? '',
          gateway: tags.gateway ?? '',
          luminaire: tags.luminaire ?? '',
          group: typeof g === 'string' && g !== '' ? g : UNGROUPED,
          energyWh: num(row[iE]),
          litHours: num(row[iH]),
          points: num(row[iR]),
          firstTs: num(row[iF]),
          lastTs: num(row[iL]),
        });
      }
    }
  }
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}
