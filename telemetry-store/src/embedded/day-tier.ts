import type { DuckDBConnection } from '@duckdb/node-api';
import { ROLLUP_TABLE } from './rollup-tables';

/**
 * Daily per-luminaire sums (UTC days) derived from luminaire_hour: a month of a 100,000-luminaire
 * city is 72 M hour rows but 3 M day rows, which DuckDB sums per luminaire in tens of milliseconds
 * (issues 11 and 13: the savings over 100k luminaires × 30 days in ≤ 200 ms). Only energy, lit
 * hours, readings, first/last ts and the latest group: what luminaireEnergy answers.
 *
 * Derived, never written on its own: every save of luminaire hour rows recomputes, in the same
 * transaction, the day rows of the (luminaire, day) pairs it touched from all of that day's hour
 * rows (recomputed, not incremented, so a day row is exactly the sum of its hours whatever the
 * arrival order and however often an hour was rewritten). A file from before this tier gets it
 * built once at open.
 */
export const DAY_TABLE = 'luminaire_day';
export const DAY_MS = 86_400_000;

const KEY = ['municipality', 'gateway', 'luminaire'] as const;

export function createDayTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS ${DAY_TABLE} (municipality VARCHAR NOT NULL, gateway VARCHAR NOT NULL, luminaire VARCHAR NOT NULL,
  day_start BIGINT NOT NULL, readings BIGINT NOT NULL, first_ts BIGINT NOT NULL, last_ts BIGINT NOT NULL,
  d0 DOUBLE, d1 DOUBLE, grp VARCHAR, PRIMARY KEY (municipality, gateway, luminaire, day_start))`;
}

/** The day rows of the hour rows passing `hourWhere` (a condition on `h`), summed from their hours. */
function daySumsSelect(from: string, hourWhere: string): string {
  return `SELECT h.municipality, h.gateway, h.luminaire, h.hour_start - h.hour_start % ${DAY_MS} AS day_start,
  sum(h.readings), min(h.first_ts), max(h.last_ts), sum(h.d0), sum(h.d1), arg_max(h.grp, h.last_ts)
FROM ${from} WHERE ${hourWhere}
GROUP BY h.municipality, h.gateway, h.luminaire, h.hour_start - h.hour_start % ${DAY_MS}`;
}

/**
 * The statement recomputing the day rows of every (luminaire, day) that `staging` (hour rows about
 * to be saved, or just saved) touches. Run after the staging rows are in luminaire_hour.
 */
export function refreshDaysSql(staging: string): string {
  const touched = `(SELECT DISTINCT ${KEY.join(', ')}, hour_start - hour_start % ${DAY_MS} AS day_start FROM ${staging})`;
  const join = `${ROLLUP_TABLE.luminaire} h JOIN ${touched} k ON ${KEY.map((c) => `h.${c} = k.${c}`).join(' AND ')}`;
  return `INSERT OR REPLACE INTO ${DAY_TABLE} ${daySumsSelect(join, `h.hour_start >= k.day_start AND h.hour_start < k.day_start + ${DAY_MS}`)}`;
}

/** Creates the day table; when it did not exist, builds it from every hour row (a file written before the tier). */
export async function ensureDayTable(conn: DuckDBConnection): Promise<void> {
  const existed = (
    await conn.runAndReadAll(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '${DAY_TABLE}'`)
  ).getRowObjectsJS()[0];
  await conn.run(createDayTableSql());
  if (Number(existed?.n ?? 0) > 0) return;
  await conn.run(`INSERT OR REPLACE INTO ${DAY_TABLE} ${daySumsSelect(`${ROLLUP_TABLE.luminaire} h`, 'true')}`);
}
