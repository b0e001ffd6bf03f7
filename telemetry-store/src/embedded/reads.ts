import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import { ROLLED_COUNTERS, type RolledMeasurement, type RollupRow } from '../rollups/rows';
import type { HourQuery, LuminaireEnergy, Point } from '../types';
import { DAY_TABLE, type DayTier } from './day-tier';
import { ROLLUP_TABLE, rollupColumnNames, rollupColumnTypes } from './rollup-tables';
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
 * leave DuckDB), shaped as a rollup row so the energy code can add edge hours to it. The whole tier
 * days inside the range come from the day tier (day-tier.ts: 24× fewer rows), the hours before the
 * first and after the last whole day from luminaire_hour. Times and counts come back as DOUBLE
 * (exact below 2^53) so JavaScript gets numbers, not BigInts.
 */
export function luminaireSumsSql(q: HourQuery, days: DayTier): { sql: string; params: Record<string, DuckDBValue> } {
  const { first: dayFrom, last: dayTo } = days.wholeDays(q.from, q.to);
  const columns = 'municipality, gateway, luminaire, readings, first_ts, last_ts, d0, d1, grp';
  let source: string;
  let params: Record<string, DuckDBValue>;
  if (dayFrom < dayTo) {
    const days = hourFilter('luminaire', { ...q, from: dayFrom, to: dayTo }, 'day_start');
    const before = hourFilter('luminaire', { ...q, to: dayFrom });
    const after = hourFilter('luminaire', { ...q, from: dayTo });
    // The three parts' parameters share names: each part gets its own by suffix.
    const rename = (part: { where: string; params: Record<string, DuckDBValue> }, suffix: string) => ({
      where: part.where.replace(/\$(\w+)/g, `$$$1_${suffix}`),
      params: Object.fromEntries(Object.entries(part.params).map(([k, v]) => [`${k}_${suffix}`, v])),
    });
    const [d, b, a] = [rename(days, 'd'), rename(before, 'b'), rename(after, 'a')];
    source = `(SELECT ${columns}, day_start AS start FROM ${DAY_TABLE} WHERE ${d.where}
  UNION ALL SELECT ${columns}, hour_start AS start FROM ${ROLLUP_TABLE.luminaire} WHERE ${b.where}
  UNION ALL SELECT ${columns}, hour_start AS start FROM ${ROLLUP_TABLE.luminaire} WHERE ${a.where})`;
    params = { ...d.params, ...b.params, ...a.params };
  } else {
    const hours = hourFilter('luminaire', q);
    source = `(SELECT ${columns}, hour_start AS start FROM ${ROLLUP_TABLE.luminaire} WHERE ${hours.where})`;
    params = hours.params;
  }
  const sql = `SELECT municipality, gateway, luminaire, CAST(min(start) AS DOUBLE) AS hour_start,
  CAST(sum(readings) AS DOUBLE) AS readings, CAST(min(first_ts) AS DOUBLE) AS first_ts, CAST(max(last_ts) AS DOUBLE) AS last_ts,
  sum(d0) AS d0, sum(d1) AS d1, arg_max(grp, last_ts) AS grp
FROM ${source}
GROUP BY municipality, gateway, luminaire`;
  return { sql, params };
}

/**
 * The luminaire sums as energy rows, sorted in SQL, read column by column: an object per row from
 * getRowObjectsJS and the generic row conversion cost ~10× the query itself (2,000 luminaires:
 * 150–300 ms against 20–40 ms, measured on the loaded 2-core machine; `npm run bench -- store-reads`).
 */
export async function readLuminaireEnergySums(conn: DuckDBConnection, q: HourQuery, days: DayTier): Promise<LuminaireEnergy[]> {
  const { sql, params } = luminaireSumsSql(q, days);
  const reader = await conn.runAndReadAll(`${sql}\nORDER BY municipality, gateway, luminaire`, params);
  const [mu, gw, lu, , rd, ft, lt, d0, d1, gr] = reader.getColumnsJS() as unknown[][];
  const out: LuminaireEnergy[] = new Array(reader.currentRowCount);
  for (let i = 0; i < reader.currentRowCount; i++) {
    const g = gr?.[i];
    out[i] = {
      municipality: String(mu?.[i]),
      gateway: String(gw?.[i]),
      luminaire: String(lu?.[i]),
      group: g === null || g === undefined ? UNGROUPED : String(g),
      energyWh: Number(d0?.[i] ?? 0),
      litHours: Number(d1?.[i] ?? 0),
      points: Number(rd?.[i]),
      firstTs: Number(ft?.[i]),
      lastTs: Number(lt?.[i]),
    };
  }
  return out;
}

/**
 * Rollup rows passing `q`, sorted by hour then series key, read column by column (as
 * readLuminaireSums, for the same reason; BIGINT columns as DOUBLE) into the rows rollup-tables.ts's
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
