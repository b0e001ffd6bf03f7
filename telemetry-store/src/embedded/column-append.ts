import duckdb from '@duckdb/node-bindings';
import {
  type DuckDBAppender,
  DuckDBBigIntType,
  DuckDBBooleanType,
  DuckDBDataChunk,
  DuckDBDoubleType,
  type DuckDBType,
  DuckDBVarCharType,
} from '@duckdb/node-api';

/** A value as the store appends it (undefined or null: NULL). */
export type CellValue = number | string | boolean | null | undefined;

/** Column types the column-wise path writes; a table with any other type goes row by row (append-value.ts). */
const LOGICAL: Record<string, DuckDBType> = {
  BIGINT: DuckDBBigIntType.instance,
  DOUBLE: DuckDBDoubleType.instance,
  BOOLEAN: DuckDBBooleanType.instance,
  VARCHAR: DuckDBVarCharType.instance,
};

/** Rows per DuckDB data chunk (its vector size, 2,048). */
const CHUNK_ROWS = duckdb.vector_size();

/** DuckDB's string_t: 4-byte length, then up to 12 bytes inline; longer strings live in the vector's heap. */
const STRING_T = 16;
const INLINE_MAX = 12;

const encoder = new TextEncoder();

export function columnWiseSupported(types: readonly string[]): boolean {
  return types.every((t) => Object.hasOwn(LOGICAL, t));
}

/** One column of the table, in its order: its type and the value of each row. */
export interface ColumnSource {
  type: string;
  value: (row: number) => CellValue;
}

/**
 * Appends `count` rows column by column through DuckDB data chunks: each column of up to 2,048
 * rows is filled in one typed array and copied into its vector in one call, instead of one native
 * call per value (the row-wise appender: 15 calls per luminaire reading). Strings of up to 12 bytes
 * — every tag value Poste writes — are written inline into the vector's string_t slots (zero padded,
 * as DuckDB compares them); longer ones through duckdb_vector_assign_string_element.
 */
export function appendColumnWise(appender: DuckDBAppender, columns: readonly ColumnSource[], count: number): void {
  const logical = columns.map((c) => LOGICAL[c.type]!);
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, count - start);
    const chunk = DuckDBDataChunk.create(logical, n);
    columns.forEach(({ type, value }, c) => {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
      const nulls = fillVector(vector, type, n, (i) => value(start + i));
      if (nulls !== undefined) {
        duckdb.vector_ensure_validity_writable(vector);
        duckdb.copy_data_to_vector_validity(vector, 0, nulls.buffer, 0, nulls.byteLength);
      }
    });
    appender.appendDataChunk(chunk);
  }
}

/** Writes one column into its vector; returns the validity mask when a value is NULL (bit set: valid). */
function fillVector(vector: duckdb.Vector, type: string, n: number, value: (i: number) => CellValue): Uint8Array<ArrayBuffer> | undefined {
  let validity: Uint8Array<ArrayBuffer> | undefined;
  const setNull = (i: number) => {
    if (validity === undefined) validity = new Uint8Array(Math.ceil(n / 64) * 8).fill(0xff);
    validity[i >> 3]! &= ~(1 << (i & 7));
  };
  if (type === 'VARCHAR') {
    const slots = new Uint8Array(n * STRING_T);
    const view = new DataView(slots.buffer);
    const long: Array<[number, string]> = [];
    for (let i = 0; i < n; i++) {
      const v = value(i);
      if (v === undefined || v === null) {
        setNull(i);
        continue;
      }
      const s = String(v);
      if (s.length > INLINE_MAX) {
        long.push([i, s]);
        continue;
      }
      const at = i * STRING_T;
      const { read, written } = encoder.encodeInto(s, slots.subarray(at + 4, at + STRING_T));
      if (read < s.length) {
        // Multi-byte characters past 12 bytes: clear what was written, the heap path takes it.
        slots.fill(0, at + 4, at + STRING_T);
        long.push([i, s]);
      } else view.setUint32(at, written, true);
    }
    duckdb.copy_data_to_vector(vector, 0, slots.buffer, 0, slots.byteLength);
    for (const [i, s] of long) duckdb.vector_assign_string_element(vector, i, s);
    return validity;
  }
  if (type === 'DOUBLE') {
    const items = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = value(i);
      if (v === undefined || v === null) setNull(i);
      else items[i] = v as number;
    }
    duckdb.copy_data_to_vector(vector, 0, items.buffer, 0, items.byteLength);
    return validity;
  }
  if (type === 'BIGINT') {
    const items = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = value(i);
      if (v === undefined || v === null) setNull(i);
      else items[i] = BigInt(v as number);
    }
    duckdb.copy_data_to_vector(vector, 0, items.buffer, 0, items.byteLength);
    return validity;
  }
  // BOOLEAN: one byte per value
  const items = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = value(i);
    if (v === undefined || v === null) setNull(i);
    else items[i] = v ? 1 : 0;
  }
  duckdb.copy_data_to_vector(vector, 0, items.buffer, 0, items.byteLength);
  return validity;
}
