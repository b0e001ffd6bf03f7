import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import {
  type ApRow,
  type Chain,
  FIRST_ROLLED_COUNTERS,
  type LuminaireRow,
  ROLLED_COUNTERS,
  type RolledMeasurement,
  type RollupRow,
} from '../rollups/rows';
import { quote } from './sql';

/** Rollup table of a measurement. */
export const ROLLUP_TABLE = { luminaire: 'luminaire_hour', ap: 'ap_hour' } as const satisfies Record<RolledMeasurement, string>;

/**
 * Columns every rollup table has after the series key, then the measurement's own, then those of
 * counters added since the table was first laid out (FIRST_ROLLED_COUNTERS): appended, so a file
 * written before them is brought up to date by ALTER TABLE … ADD COLUMN (migrateRollupTableSql)
 * and rows keep going in by position.
 */
function columnsOf(m: RolledMeasurement): Array<[string, string]> {
  const first = FIRST_ROLLED_COUNTERS[m];
  const n = ROLLED_COUNTERS[m].length;
  const range = (prefix: string, from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => [`${prefix}${from + i}`, 'DOUBLE'] as [string, string]);
  const per = (prefix: string) => range(prefix, 0, first);
  const later = [...range('d', first, n), ...range('s', first, n), ...range('c', first, n)];
  const common: Array<[string, string]> = [
    ['hour_start', 'BIGINT NOT NULL'],
    ['readings', 'BIGINT NOT NULL'],
    ['first_ts', 'BIGINT NOT NULL'],
    ['last_ts', 'BIGINT NOT NULL'],
    // d: the hour's counter deltas; s/c: the counters' chain before and after the hour
    ...per('d'),
    ...per('s'),
    ...per('c'),
  ];
  const own: Array<[string, string]> =
    m === 'luminaire'
      ? [
          ['grp', 'VARCHAR'],
          ['status_counts', 'VARCHAR'],
        ]
      : [
          ['clients_max', 'DOUBLE'],
          ['clients_sum', 'DOUBLE'],
          ['clients_household_sum', 'DOUBLE'],
          ['clients_public_sum', 'DOUBLE'],
          ['clients_telemedicine_sum', 'DOUBLE'],
          ['capacity_sum', 'DOUBLE'],
        ];
  return [...SERIES_KEY_TAGS[m].map((t) => [t, 'VARCHAR NOT NULL'] as [string, string]), ...common, ...own, ...later];
}

/** ALTER statements adding the columns a table written by an earlier version lacks (none for a current one). */
export function migrateRollupTableSql(m: RolledMeasurement, existing: ReadonlySet<string>): string[] {
  return columnsOf(m)
    .filter(([c]) => !existing.has(c))
    .map(([c, t]) => `ALTER TABLE ${ROLLUP_TABLE[m]} ADD COLUMN ${quote(c)} ${t}`);
}

/**
 * Brings rollup tables written by an earlier version up to the current layout (the coproduction
 * counters' columns appended; their values start empty). Run at open, after the tables exist.
 */
export async function migrateRollupTables(conn: DuckDBConnection): Promise<void> {
  for (const m of ['luminaire', 'ap'] as const) {
    const have = await conn.runAndReadAll('SELECT column_name FROM information_schema.columns WHERE table_name = $t', {
      t: ROLLUP_TABLE[m],
    });
    const existing = new Set(have.getRowObjectsJS().map((r) => String(r.column_name)));
    for (const sql of migrateRollupTableSql(m, existing)) await conn.run(sql);
  }
}

export function rollupColumnNames(m: RolledMeasurement): string[] {
  return columnsOf(m).map(([c]) => c);
}

/** Column types in rollupColumnNames order, as the appender wants them (BIGINT, DOUBLE or VARCHAR). */
export function rollupColumnTypes(m: RolledMeasurement): string[] {
  return columnsOf(m).map(([, t]) => t.split(' ')[0]!);
}

export function createRollupTableSql(m: RolledMeasurement): string {
  const pk = [...SERIES_KEY_TAGS[m], 'hour_start'].map(quote).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${ROLLUP_TABLE[m]} (${columnsOf(m)
    .map(([c, t]) => `${quote(c)} ${t}`)
    .join(', ')}, PRIMARY KEY (${pk}))`;
}

/** A row's values in rollupColumnNames order. */
export function rowValues(m: RolledMeasurement, r: RollupRow): DuckDBValue[] {
  const first = FIRST_ROLLED_COUNTERS[m];
  const chain = (c: Chain) => c.map((v) => v ?? null);
  const common: DuckDBValue[] = [
    ...r.key,
    r.hourStart,
    r.readings,
    r.firstTs,
    r.lastTs,
    ...r.deltas.slice(0, first),
    ...chain(r.startChain.slice(0, first)),
    ...chain(r.chain.slice(0, first)),
  ];
  const later: DuckDBValue[] = [...r.deltas.slice(first), ...chain(r.startChain.slice(first)), ...chain(r.chain.slice(first))];
  if (m === 'luminaire') {
    const l = r as LuminaireRow;
    return [...common, l.group, JSON.stringify(l.statusCounts), ...later];
  }
  const a = r as ApRow;
  return [
    ...common,
    a.clientsMax,
    a.clientsSum,
    a.clientsHouseholdSum,
    a.clientsPublicSum,
    a.clientsTelemedicineSum,
    a.capacitySum,
    ...later,
  ];
}

/** A row read back (getRowObjectsJS of `SELECT *`). */
export function rowFrom(m: RolledMeasurement, o: Record<string, unknown>): RollupRow {
  const n = ROLLED_COUNTERS[m].length;
  const nums = (prefix: string) => Array.from({ length: n }, (_, i) => Number(o[`${prefix}${i}`] ?? 0));
  const chain = (prefix: string) =>
    Array.from({ length: n }, (_, i) => {
      const v = o[`${prefix}${i}`];
      return v === null || v === undefined ? null : Number(v);
    });
  const base = {
    hourStart: Number(o.hour_start),
    key: SERIES_KEY_TAGS[m].map((t) => String(o[t])),
    readings: Number(o.readings),
    firstTs: Number(o.first_ts),
    lastTs: Number(o.last_ts),
    deltas: nums('d'),
    startChain: chain('s'),
    chain: chain('c'),
  };
  if (m === 'luminaire') {
    return {
      ...base,
      group: o.grp === null || o.grp === undefined ? UNGROUPED : String(o.grp),
      statusCounts: JSON.parse(String(o.status_counts ?? '{}')) as Record<string, number>,
    };
  }
  return {
    ...base,
    clientsMax: Number(o.clients_max),
    clientsSum: Number(o.clients_sum),
    clientsHouseholdSum: Number(o.clients_household_sum),
    clientsPublicSum: Number(o.clients_public_sum),
    clientsTelemedicineSum: Number(o.clients_telemedicine_sum),
    capacitySum: Number(o.capacity_sum),
  };
}
