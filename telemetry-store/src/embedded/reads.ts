import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import { ROLLED_COUNTERS, type RolledMeasurement, type RollupRow } from '../rollups/rows';
import type { HourQuery, Point } from '../types';
import { ROLLUP_TABLE, rollupColumnNames, rollupColumnTypes } from './rollup-tables';
import { quote } from './sql';

/** Energy sums per luminaire from the day tier: day-tier-read.ts. */
export { readLuminaireEnergySums } from './day-tier-read';

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
 * Rollup rows passing `q`, sorted by hour then series key, read column by column (an object per row from getRowObjectsJS and the generic row
 * conversion cost ~10× the query itself; BIGINT columns as DOUBLE) into the rows rollup-tables.ts's
 * rowFrom would make. A status-count string repeats across rows: each distinct one is parsed once,
 * each row gets its own copy.
 */
export async function readRollupRows(conn: DuckDBConnection, m: RolledMeasurement, q: HourQuery): Promise<RollupRow[]> {
  const { where, params } = hourFilter(m, q);
  const names = rollupColumnNames(m);
  const types = rollupColumnTypes(m);
  const select = names.map((c, i) => (types[i] === 'BIGINT' ? `CAST(${quote(c)} AS DOUBLE) AS ${quote(c)}` : quote(c))).join(', ');
  const order = ['hour_start', ...SERIES_KEY_TAGS[m]].map(quote).join(', ');
  const reader = await conn.runAndReadAll(`SELECT ${select} FROM ${ROLLUP_TABLE[m]} WHERE ${where} ORDER BY ${order}`, params);
  const columns = reader.getColumnsJS();
  const col = (name: string): readonly unknown[] => columns[names.indexOf(name)] ?? [];
  const [k0, k1, k2] = SERIES_KEY_TAGS[m].map(col) as [unknown[], unknown[], unknown[]];
  const n = ROLLED_COUNTERS[m].length;
  const series = (prefix: string) => Array.from({ length: n }, (_, i) => col(`${prefix}${i}`));
  const [d, sc, c] = [series('d'), series('s'), series('c')];
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const [hs, rd, ft, lt] = ['hour_start', 'readings', 'first_ts', 'last_ts'].map(col) as [unknown[], unknown[], unknown[], unknown[]];
  const out: RollupRow[] = [];
  if (m === 'luminaire') {
    const [grp, counts] = [col('grp'), col('status_counts')];
    const parsed = new Map<string, Record<string, number>>();
    for (let i = 0; i < reader.currentRowCount; i++) {
      const text = String(counts[i] ?? '{}');
      let statusCounts = parsed.get(text);
      if (!statusCounts) {
        statusCounts = JSON.parse(text) as Record<string, number>;
        parsed.set(text, statusCounts);
      }
      const g = grp[i];
      out.push({
        hourStart: Number(hs[i]),
        key: [String(k0[i]), String(k1[i]), String(k2[i])],
        readings: Number(rd[i]),
        firstTs: Number(ft[i]),
        lastTs: Number(lt[i]),
        deltas: d.map((x) => Number(x[i] ?? 0)),
        startChain: sc.map((x) => num(x[i])),
        chain: c.map((x) => num(x[i])),
        group: g === null || g === undefined ? UNGROUPED : String(g),
        statusCounts: { ...statusCounts },
      });
    }
    return out;
  }
  const [cm, cs, ch, cp, ct, cap] = [
    'clients_max',
    'clients_sum',
    'clients_household_sum',
    'clients_public_sum',
    'clients_telemedicine_sum',
    'capacity_sum',
  ].map(col) as [unknown[], unknown[], unknown[], unknown[], unknown[], unknown[]];
  for (let i = 0; i < reader.currentRowCount; i++) {
    out.push({
      hourStart: Number(hs[i]),
      key: [String(k0[i]), String(k1[i]), String(k2[i])],
      readings: Number(rd[i]),
      firstTs: Number(ft[i]),
      lastTs: Number(lt[i]),
      deltas: d.map((x) => Number(x[i] ?? 0)),
      startChain: sc.map((x) => num(x[i])),
      chain: c.map((x) => num(x[i])),
      clientsMax: Number(cm[i]),
      clientsSum: Number(cs[i]),
      clientsHouseholdSum: Number(ch[i]),
      clientsPublicSum: Number(cp[i]),
      clientsTelemedicineSum: Number(ct[i]),
      capacitySum: Number(cap[i]),
    });
  }
  return out;
}

/** Raw points of a measurement with ts in [from, to) and the filters. */
export function pointsSql(m: Point['measurement'], q: HourQuery): { sql: string; params: Record<string, DuckDBValue> } {
  const { where, params } = hourFilter(m as RolledMeasurement, q, 'ts');
  return { sql: `SELECT * FROM ${quote(m)} WHERE ${where}`, params };
}
