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

/** Result chunks (2,048 rows each) converted between two turns of the event loop. */
const CHUNKS_PER_SLICE = 4;

/**
 * Lets waiting I/O run: the store's answer arrives in the poll phase, so one setImmediate would
 * run before any request that came in meanwhile is read; the second one runs after that poll.
 */
function turnOfTheLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Rollup rows passing `q`, sorted by hour then series key, read column by column (an object per
 * row from getRowObjectsJS and the generic row conversion cost ~10× the query itself; BIGINT
 * columns as DOUBLE) into the rows rollup-tables.ts's rowFrom would make. A status-count string
 * repeats across rows: each distinct one is parsed once, each row gets its own copy.
 *
 * Converted chunk by chunk, with a turn of the event loop every CHUNKS_PER_SLICE chunks: a
 * dashboard series over 2,500 luminaires × a day is ~48,000 rows, whose conversion in one go held
 * the API's loop for 140–190 ms (the 50-client bench's p99).
 */
export async function readRollupRows(conn: DuckDBConnection, m: RolledMeasurement, q: HourQuery): Promise<RollupRow[]> {
  const { where, params } = hourFilter(m, q);
  const names = rollupColumnNames(m);
  const types = rollupColumnTypes(m);
  const select = names.map((c, i) => (types[i] === 'BIGINT' ? `CAST(${quote(c)} AS DOUBLE) AS ${quote(c)}` : quote(c))).join(', ');
  const order = ['hour_start', ...SERIES_KEY_TAGS[m]].map(quote).join(', ');
  const result = await conn.run(`SELECT ${select} FROM ${ROLLUP_TABLE[m]} WHERE ${where} ORDER BY ${order}`, params);
  const out: RollupRow[] = [];
  const convert = m === 'luminaire' ? luminaireRowsInto(out, names) : apRowsInto(out, names);
  for (let c = 0; c < result.chunkCount; c++) {
    if (c > 0 && c % CHUNKS_PER_SLICE === 0) await turnOfTheLoop();
    const chunk = result.getChunk(c);
    if (chunk.rowCount > 0) convert(chunk.getColumns(), chunk.rowCount);
  }
  return out;
}

type Columns = readonly (readonly DuckDBValue[])[];

/** The columns every rollup row has, looked up by name in one chunk's columns. */
function commonColumns(columns: Columns, names: readonly string[], m: RolledMeasurement) {
  const col = (name: string): readonly DuckDBValue[] => columns[names.indexOf(name)] ?? [];
  const n = ROLLED_COUNTERS[m].length;
  const series = (prefix: string) => Array.from({ length: n }, (_, i) => col(`${prefix}${i}`));
  return {
    col,
    keys: SERIES_KEY_TAGS[m].map(col) as [readonly DuckDBValue[], readonly DuckDBValue[], readonly DuckDBValue[]],
    d: series('d'),
    sc: series('s'),
    c: series('c'),
    hs: col('hour_start'),
    rd: col('readings'),
    ft: col('first_ts'),
    lt: col('last_ts'),
  };
}

const num = (v: DuckDBValue | undefined) => (v === null || v === undefined ? null : Number(v));

function luminaireRowsInto(out: RollupRow[], names: readonly string[]) {
  const parsed = new Map<string, Record<string, number>>();
  return (columns: Columns, rows: number): void => {
    const { col, keys, d, sc, c, hs, rd, ft, lt } = commonColumns(columns, names, 'luminaire');
    const [k0, k1, k2] = keys;
    const [grp, counts] = [col('grp'), col('status_counts')];
    for (let i = 0; i < rows; i++) {
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
  };
}

function apRowsInto(out: RollupRow[], names: readonly string[]) {
  return (columns: Columns, rows: number): void => {
    const { col, keys, d, sc, c, hs, rd, ft, lt } = commonColumns(columns, names, 'ap');
    const [k0, k1, k2] = keys;
    const [cm, cs, ch, cp, ct, cap] = [
      'clients_max',
      'clients_sum',
      'clients_household_sum',
      'clients_public_sum',
      'clients_telemedicine_sum',
      'capacity_sum',
    ].map(col);
    for (let i = 0; i < rows; i++) {
      out.push({
        hourStart: Number(hs[i]),
        key: [String(k0[i]), String(k1[i]), String(k2[i])],
        readings: Number(rd[i]),
        firstTs: Number(ft[i]),
        lastTs: Number(lt[i]),
        deltas: d.map((x) => Number(x[i] ?? 0)),
        startChain: sc.map((x) => num(x[i])),
        chain: c.map((x) => num(x[i])),
        clientsMax: Number(cm?.[i]),
        clientsSum: Number(cs?.[i]),
        clientsHouseholdSum: Number(ch?.[i]),
        clientsPublicSum: Number(cp?.[i]),
        clientsTelemedicineSum: Number(ct?.[i]),
        capacitySum: Number(cap?.[i]),
      });
    }
  };
}

/** Raw points of a measurement with ts in [from, to) and the filters. */
export function pointsSql(m: Point['measurement'], q: HourQuery): { sql: string; params: Record<string, DuckDBValue> } {
  const { where, params } = hourFilter(m as RolledMeasurement, q, 'ts');
  return { sql: `SELECT * FROM ${quote(m)} WHERE ${where}`, params };
}
