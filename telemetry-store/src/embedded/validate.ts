import type { RefusedPoint } from '../errors';
import { SERIES_KEY_TAGS } from '../measurements';
import type { Point } from '../types';
import { columnTypeOf, isSafeIdentifier, KNOWN_COLUMNS, type ColumnType } from './sql';

export interface ValidatedBatch {
  /** the points that can be inserted as they are */
  accepted: Point[];
  /** the others, by index into the batch, with why */
  refused: RefusedPoint[];
  /** columns the accepted points need that the tables do not have yet, with the type they get */
  newColumns: Array<{ measurement: Point['measurement']; name: string; type: ColumnType }>;
}

/**
 * Checks every point against what the tables can hold, before anything is written, so that one bad
 * point is refused alone instead of failing the transaction for the whole batch. A field keeps the
 * type it was first written with (as an InfluxDB shard does): a string into a number column is
 * refused, like InfluxDB's field type conflict. `columns` is read, not changed.
 */
export function validatePoints(
  points: readonly Point[],
  columns: ReadonlyMap<Point['measurement'], ReadonlyMap<string, ColumnType>>,
): ValidatedBatch {
  const accepted: Point[] = [];
  const refused: RefusedPoint[] = [];
  const pending = new Map<string, { measurement: Point['measurement']; name: string; type: ColumnType }>();
  points.forEach((p, index) => {
    const reason = problemOf(p, columns, pending);
    if (reason === undefined) accepted.push(p);
    else refused.push({ index, reason });
  });
  return { accepted, refused, newColumns: [...pending.values()] };
}

function problemOf(
  p: Point,
  columns: ReadonlyMap<Point['measurement'], ReadonlyMap<string, ColumnType>>,
  pending: Map<string, { measurement: Point['measurement']; name: string; type: ColumnType }>,
): string | undefined {
  if (!Object.hasOwn(KNOWN_COLUMNS, p.measurement)) return `unknown measurement ${String(p.measurement)}`;
  const m = p.measurement;
  if (!Number.isSafeInteger(p.ts)) return `point ts must be integer ms, got ${p.ts}`;
  for (const k of SERIES_KEY_TAGS[m]) if (typeof p.tags[k] !== 'string') return `${m} point without tag ${k}`;
  const known = columns.get(m) ?? new Map<string, ColumnType>();
  const wanted: Array<[string, ColumnType]> = [];
  for (const [name, value] of Object.entries(p.tags)) {
    if (!isSafeIdentifier(name)) return `${m}: unusable tag name ${JSON.stringify(name)}`;
    if (typeof value !== 'string') return `${m}.${name}: tag value must be a string`;
    wanted.push([name, 'VARCHAR']);
  }
  for (const [name, value] of Object.entries(p.fields)) {
    if (!isSafeIdentifier(name)) return `${m}: unusable field name ${JSON.stringify(name)}`;
    if (typeof value === 'number' && !Number.isFinite(value)) return `${m}.${name}: non-finite value ${value}`;
    if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean')
      return `${m}.${name}: unsupported value type ${typeof value}`;
    if (Object.hasOwn(p.tags, name)) return `${m}.${name}: both a tag and a field`;
    wanted.push([name, columnTypeOf(value)]);
  }
  for (const [name, type] of wanted) {
    const has = known.get(name) ?? pending.get(`${m}.${name}`)?.type;
    if (has !== undefined && has !== type) return `${m}.${name}: ${type} value for a ${has} column (type conflict)`;
  }
  // Only a point that is accepted may create columns.
  for (const [name, type] of wanted) {
    if (!known.has(name) && !pending.has(`${m}.${name}`)) pending.set(`${m}.${name}`, { measurement: m, name, type });
  }
  return undefined;
}
