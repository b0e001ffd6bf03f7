import type { Point } from '../types';
import { SERIES_KEY_TAGS } from '../measurements';

/** Column types the embedded store uses: every number is a DOUBLE, like an InfluxDB float field. */
export type ColumnType = 'DOUBLE' | 'VARCHAR' | 'BOOLEAN';

/**
 * Known columns per measurement (docs/architecture.md, "Storage"), created up front so the common case never needs
 * ALTER TABLE. Anything else a writer sends becomes a new nullable column on first sight.
 */
export const KNOWN_COLUMNS: Record<Point['measurement'], Record<string, ColumnType>> = {
  luminaire: {
    group: 'VARCHAR',
    activePower: 'DOUBLE',
    activeEnergy: 'DOUBLE',
    dimLevel: 'DOUBLE',
    voltage: 'DOUBLE',
    current: 'DOUBLE',
    powerFactor: 'DOUBLE',
    operatingHours: 'DOUBLE',
    switchOnCounter: 'DOUBLE',
    status: 'VARCHAR',
  },
  ap: {
    capacityKbps: 'DOUBLE',
    uptime: 'DOUBLE',
    clientsHousehold: 'DOUBLE',
    clientsTelemedicine: 'DOUBLE',
    clientsPublic: 'DOUBLE',
    bytesHousehold: 'DOUBLE',
    bytesTelemedicine: 'DOUBLE',
    bytesPublic: 'DOUBLE',
  },
  event: { active: 'BOOLEAN', value: 'DOUBLE', detail: 'VARCHAR' },
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function isSafeIdentifier(name: string): boolean {
  return IDENT.test(name) && name !== 'ts';
}

/** Identifiers are validated by isSafeIdentifier first; quoting also covers keywords like "group". */
export function quote(name: string): string {
  return `"${name}"`;
}

export function columnTypeOf(value: number | string | boolean): ColumnType {
  if (typeof value === 'number') return 'DOUBLE';
  if (typeof value === 'boolean') return 'BOOLEAN';
  return 'VARCHAR';
}

export function createTableSql(m: Point['measurement']): string {
  const key = SERIES_KEY_TAGS[m].map((t) => `${quote(t)} VARCHAR NOT NULL`);
  const known = Object.entries(KNOWN_COLUMNS[m]).map(([c, t]) => `${quote(c)} ${t}`);
  const pk = [...SERIES_KEY_TAGS[m], 'ts'].map(quote).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${quote(m)} (${[...key, 'ts BIGINT NOT NULL', ...known].join(', ')}, PRIMARY KEY (${pk}))`;
}

/**
 * Energy per luminaire over [from, to): LAG over ts per series, so arrival order does not matter;
 * a drop (v < prev) is a counter reset and counts v. Same semantics as counter-deltas.ts.
 * IGNORE NULLS lets a point missing one counter not break the chain of the other.
 */
export function energySql(filters: { municipality: boolean; gateway: boolean }): string {
  const where = ['ts >= $from', 'ts < $to'];
  if (filters.municipality) where.push('municipality = $municipality');
  if (filters.gateway) where.push('gateway = $gateway');
  return `
WITH s AS (
  SELECT municipality, gateway, luminaire, "group", ts, activeEnergy AS e, operatingHours AS h,
    LAG(activeEnergy IGNORE NULLS) OVER w AS pe,
    LAG(operatingHours IGNORE NULLS) OVER w AS ph
  FROM luminaire
  WHERE ${where.join(' AND ')}
  WINDOW w AS (PARTITION BY municipality, gateway, luminaire ORDER BY ts)
)
SELECT municipality, gateway, luminaire,
  arg_max("group", ts) AS grp,
  COALESCE(SUM(CASE WHEN e IS NULL OR pe IS NULL THEN 0 WHEN e >= pe THEN e - pe ELSE e END), 0) AS energy_wh,
  COALESCE(SUM(CASE WHEN h IS NULL OR ph IS NULL THEN 0 WHEN h >= ph THEN h - ph ELSE h END), 0) AS lit_hours,
  COUNT(*) AS points, MIN(ts) AS first_ts, MAX(ts) AS last_ts
FROM s
GROUP BY municipality, gateway, luminaire
ORDER BY municipality, gateway, luminaire`;
}
