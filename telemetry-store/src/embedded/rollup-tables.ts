import type { DuckDBValue } from '@duckdb/node-api';
import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import { type ApRow, type Chain, type LuminaireRow, ROLLED_COUNTERS, type RolledMeasurement, type RollupRow } from '../rollups/rows';
import { quote } from './sql';

/** Rollup table of a measurement. */
export const ROLLUP_TABLE = { luminaire: 'luminaire_hour', ap: 'ap_hour' } as const satisfies Record<RolledMeasurement, string>;

/** Columns every rollup table has after the series key, then the measurement's own. */
function columnsOf(m: RolledMeasurement): Array<[string, string]> {
  const n = ROLLED_COUNTERS[m].length;
  const per = (prefix: string) => Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'DOUBLE'] as [string, string]);
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
  return [...SERIES_KEY_TAGS[m].map((t) => [t, 'VARCHAR NOT NULL'] as [string, string]), ...common, ...own];
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
  const chain = (c: Chain) => c.map((v) => v ?? null);
  const common: DuckDBValue[] = [
    ...r.key,
    r.hourStart,
    r.readings,
    r.firstTs,
    r.lastTs,
    ...r.deltas,
    ...chain(r.startChain),
    ...chain(r.chain),
  ];
  if (m === 'luminaire') {
    const l = r as LuminaireRow;
    return [...common, l.group, JSON.stringify(l.statusCounts)];
  }
  const a = r as ApRow;
  return [...common, a.clientsMax, a.clientsSum, a.clientsHouseholdSum, a.clientsPublicSum, a.clientsTelemedicineSum, a.capacitySum];
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
