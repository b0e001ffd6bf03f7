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

/** Names already checked by isSafeIdentifier (a writer sends the same few names in every point); bounded. */
const SAFE_NAMES = new Map<string, boolean>();
const SAFE_NAMES_MAX = 4_096;

function safeName(name: string): boolean {
  let ok = SAFE_NAMES.get(name);
  if (ok === undefined) {
    ok = isSafeIdentifier(name);
    if (SAFE_NAMES.size >= SAFE_NAMES_MAX) SAFE_NAMES.clear();
    SAFE_NAMES.set(name, ok);
  }
  return ok;
}

/**
 * Runs for every point ingest writes, so it allocates nothing in the common case: names and values
 * are checked first, then each column's type against the table's (or a column an earlier point of
 * the batch creates), then the new columns are noted.
 */
function problemOf(
  p: Point,
  columns: ReadonlyMap<Point['measurement'], ReadonlyMap<string, ColumnType>>,
  pending: Map<string, { measurement: Point['measurement']; name: string; type: ColumnType }>,
): string | undefined {
  if (!Object.hasOwn(KNOWN_COLUMNS, p.measurement)) return `unknown measurement ${String(p.measurement)}`;
  const m = p.measurement;
  if (!Number.isSafeInteger(p.ts)) return `point ts must be integer ms, got ${p.ts}`;
  for (const k of SERIES_KEY_TAGS[m]) if (typeof p.tags[k] !== 'string') return `${m} point without tag ${k}`;
  const known = columns.get(m) ?? NO_COLUMNS;
  // A frozen tags object (ingest shares one per device: broker SharedTags) passed once stays good.
  const tagsPassed = known !== NO_COLUMNS && VALID_TAGS.get(p.tags) === known;
  if (known !== NO_COLUMNS && (tagsPassed || tagsLikeLastPassed(p, known)) && fieldsLikeLastPassed(p, known)) return undefined;
  const tagNames = tagsPassed ? NO_NAMES : Object.keys(p.tags);
  const fieldNames = Object.keys(p.fields);
  for (const name of tagNames) {
    if (!safeName(name)) return `${m}: unusable tag name ${JSON.stringify(name)}`;
    if (typeof p.tags[name] !== 'string') return `${m}.${name}: tag value must be a string`;
  }
  for (const name of fieldNames) {
    const value = p.fields[name];
    if (!safeName(name)) return `${m}: unusable field name ${JSON.stringify(name)}`;
    if (typeof value === 'number' && !Number.isFinite(value)) return `${m}.${name}: non-finite value ${value}`;
    if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean')
      return `${m}.${name}: unsupported value type ${typeof value}`;
    if (Object.hasOwn(p.tags, name)) return `${m}.${name}: both a tag and a field`;
  }
  let unknown = false;
  for (const name of tagNames) {
    const has = known.get(name) ?? (pending.size > 0 ? pending.get(`${m}.${name}`)?.type : undefined);
    if (has === undefined) unknown = true;
    else if (has !== 'VARCHAR') return `${m}.${name}: VARCHAR value for a ${has} column (type conflict)`;
  }
  // Remembered only when every tag is a VARCHAR column already: columns are added, never retyped.
  if (!tagsPassed && !unknown && known !== NO_COLUMNS && Object.isFrozen(p.tags)) VALID_TAGS.set(p.tags, known);
  for (const name of fieldNames) {
    const type = columnTypeOf(p.fields[name] as number | string | boolean);
    const has = known.get(name) ?? (pending.size > 0 ? pending.get(`${m}.${name}`)?.type : undefined);
    if (has === undefined) unknown = true;
    else if (has !== type) return `${m}.${name}: ${type} value for a ${has} column (type conflict)`;
  }
  // Only a point that is accepted may create columns.
  if (unknown) {
    for (const name of tagNames) notePending(m, name, 'VARCHAR', known, pending);
    for (const name of fieldNames) notePending(m, name, columnTypeOf(p.fields[name] as number | string | boolean), known, pending);
  } else if (known !== NO_COLUMNS) {
    if (!tagsPassed) LAST_PASSED_TAGS.set(known, tagNames);
    LAST_PASSED_FIELDS.set(known, { names: fieldNames, types: fieldNames.map((name) => known.get(name)!) });
  }
  return undefined;
}

/**
 * The field names, in order, and their column types of the last point that passed with only
 * existing columns, by the column map (one store's, one measurement's) it passed against.
 * Ingest's points of a measurement all have the same fields: a point whose fields are those, with
 * values of those types, passes on one walk over its fields instead of the name, type and column
 * lookups above (columns are added, never retyped, so what passed still passes).
 */
const LAST_PASSED_FIELDS = new WeakMap<ReadonlyMap<string, ColumnType>, { names: readonly string[]; types: readonly ColumnType[] }>();

/** The same for tags (of points whose tags object is not one that passed already): names in order, string values. */
const LAST_PASSED_TAGS = new WeakMap<ReadonlyMap<string, ColumnType>, readonly string[]>();

function tagsLikeLastPassed(p: Point, known: ReadonlyMap<string, ColumnType>): boolean {
  const names = LAST_PASSED_TAGS.get(known);
  if (names === undefined) return false;
  let i = 0;
  for (const name in p.tags) {
    if (name !== names[i] || !Object.hasOwn(p.tags, name) || typeof p.tags[name] !== 'string') return false;
    i++;
  }
  return i === names.length;
}

function fieldsLikeLastPassed(p: Point, known: ReadonlyMap<string, ColumnType>): boolean {
  const last = LAST_PASSED_FIELDS.get(known);
  if (last === undefined) return false;
  const { names, types } = last;
  let i = 0;
  for (const name in p.fields) {
    if (name !== names[i] || !Object.hasOwn(p.fields, name) || Object.hasOwn(p.tags, name)) return false;
    const value = p.fields[name];
    const type = types[i];
    if (
      type === 'DOUBLE'
        ? typeof value !== 'number' || !Number.isFinite(value)
        : type === 'VARCHAR'
          ? typeof value !== 'string'
          : typeof value !== 'boolean'
    )
      return false;
    i++;
  }
  return i === names.length;
}

const NO_COLUMNS: ReadonlyMap<string, ColumnType> = new Map();
const NO_NAMES: readonly string[] = [];
/**
 * Frozen tags objects that passed, with the column map (one store's, one measurement's) they passed
 * against: another store, or the same one reopened, checks them again. Weak: they go with the
 * points and the sharer's cache.
 */
const VALID_TAGS = new WeakMap<object, ReadonlyMap<string, ColumnType>>();

function notePending(
  m: Point['measurement'],
  name: string,
  type: ColumnType,
  known: ReadonlyMap<string, ColumnType>,
  pending: Map<string, { measurement: Point['measurement']; name: string; type: ColumnType }>,
): void {
  if (!known.has(name) && !pending.has(`${m}.${name}`)) pending.set(`${m}.${name}`, { measurement: m, name, type });
}
