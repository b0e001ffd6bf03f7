import type { DuckDBValue } from '@duckdb/node-api';
import { SERIES_KEY_TAGS } from '../measurements';
import type { RolledMeasurement } from '../rollups/rows';
import type { HourQuery, Point } from '../types';
import { ROLLUP_TABLE } from './rollup-tables';
import { quote } from './sql';

/** WHERE clause and parameters of a rollup read: hours in [from, to), municipality, gateway, device. */
export function hourFilter(
  m: RolledMeasurement,
  q: HourQuery,
  time = 'hour_start',
): { where: string; params: Record<string, DuckDBValue> } {
  const params: Record<string, DuckDBValue> = { from: q.from, to: q.to };
  const where = [`${time} >= $from`, `${time} < $to`];
  if (q.municipality !== undefined) {
    where.push('municipality = $municipality');
    params.municipality = q.municipality;
  }
  if (q.gateway !== undefined) {
    where.push('gateway = $gateway');
    params.gateway = q.gateway;
  }
  if (q.device !== undefined) {
    where.push(`${quote(SERIES_KEY_TAGS[m][2])} = $device`);
    params.device = q.device;
  }
  return { where: where.join(' AND '), params };
}

/**
 * Whole hours summed per luminaire in SQL (a month of a city is millions of hour rows: they never
 * leave DuckDB), shaped as a rollup row so the energy code can add edge hours to it.
 */
export function luminaireSumsSql(q: HourQuery): { sql: string; params: Record<string, DuckDBValue> } {
  const { where, params } = hourFilter('luminaire', q);
  const sql = `SELECT municipality, gateway, luminaire, min(hour_start) AS hour_start, sum(readings) AS readings,
  min(first_ts) AS first_ts, max(last_ts) AS last_ts, sum(d0) AS d0, sum(d1) AS d1,
  NULL AS s0, NULL AS s1, NULL AS c0, NULL AS c1, arg_max(grp, last_ts) AS grp, '{}' AS status_counts
FROM ${ROLLUP_TABLE.luminaire} WHERE ${where}
GROUP BY municipality, gateway, luminaire`;
  return { sql, params };
}

/** Raw points of a measurement with ts in [from, to) and the filters. */
export function pointsSql(m: Point['measurement'], q: HourQuery): { sql: string; params: Record<string, DuckDBValue> } {
  const { where, params } = hourFilter(m as RolledMeasurement, q, 'ts');
  return { sql: `SELECT * FROM ${quote(m)} WHERE ${where}`, params };
}
