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
    telemedicineSessions: 'DOUBLE',
    telemedicineSessionsActive: 'DOUBLE',
    reserveKbps: 'DOUBLE',
    reserveMeasuredS: 'DOUBLE',
    reserveHonouredS: 'DOUBLE',
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

/**
 * A raw table. No primary key: the store refuses duplicates itself (RollupMaintainer) before the
 * append, so DuckDB need not keep an index of every point (which halved bulk-load speed). Files
 * created by earlier versions keep theirs; it changes nothing but speed.
 */
export function createTableSql(m: Point['measurement']): string {
  const key = SERIES_KEY_TAGS[m].map((t) => `${quote(t)} VARCHAR NOT NULL`);
  const known = Object.entries(KNOWN_COLUMNS[m]).map(([c, t]) => `${quote(c)} ${t}`);
  return `CREATE TABLE IF NOT EXISTS ${quote(m)} (${[...key, 'ts BIGINT NOT NULL', ...known].join(', ')})`;
}
