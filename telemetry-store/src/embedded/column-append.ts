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
export const CHUNK_ROWS = duckdb.vector_size();

/** DuckDB's string_t: 4-byte length, then up to 12 bytes inline; longer strings live in the vector's heap. */
const STRING_T = 16;
const INLINE_MAX = 12;
const TWO_32 = 4_294_967_296;
/** Where a BIGINT's low 32-bit half sits in its 8 bytes (DuckDB's vectors are in this machine's byte order). */
const LOW = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

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
 * One column of one data chunk being filled, value by value in any row order, then copied into its
 * DuckDB vector in one call (plus one per string longer than 12 bytes). Values must be of the
 * column's type (the store validated them): a number for DOUBLE and BIGINT (an integer), a string
 * for VARCHAR, a boolean for BOOLEAN.
 */
export class ColumnFiller {
  private readonly f64: Float64Array<ArrayBuffer> | undefined;
  /** BIGINT as two 32-bit halves (low first, this machine's byte order, as DuckDB reads it): no BigInt per value */
  private readonly i32: Int32Array<ArrayBuffer> | undefined;
  private readonly bytes: Uint8Array<ArrayBuffer> | undefined;
  /** VARCHAR: the string_t lengths, over `bytes` */
  private readonly u32: Uint32Array<ArrayBuffer> | undefined;
  private readonly long: Array<[number, string]> = [];
  private validity: Uint8Array<ArrayBuffer> | undefined;
  readonly set: (i: number, v: number | string | boolean) => void;

  constructor(
    readonly type: string,
    private readonly n: number,
  ) {
    if (type === 'DOUBLE') {
      const f64 = new Float64Array(n);
      this.f64 = f64;
      this.set = (i, v) => {
        f64[i] = v as number;
      };
    } else if (type === 'BIGINT') {
      const i32 = new Int32Array(n * 2);
      this.i32 = i32;
      this.set = (i, v) => {
        const x = v as number;
        if (!Number.isSafeInteger(x)) throw new RangeError(`BIGINT column: ${x} is not a safe integer`);
        const hi = Math.floor(x / TWO_32);
        i32[2 * i + LOW] = x - hi * TWO_32;
        i32[2 * i + 1 - LOW] = hi;
      };
    } else if (type === 'BOOLEAN') {
      const bytes = new Uint8Array(n);
      this.bytes = bytes;
      this.set = (i, v) => {
        bytes[i] = v ? 1 : 0;
      };
    } else {
      const bytes = new Uint8Array(n * STRING_T);
      const u32 = new Uint32Array(bytes.buffer);
      this.bytes = bytes;
      this.u32 = u32;
      this.set = (i, v) => this.setString(i, String(v));
    }
  }

  setNull(i: number): void {
    if (this.validity === undefined) this.validity = new Uint8Array(Math.ceil(this.n / 64) * 8).fill(0xff);
    this.validity[i >> 3]! &= ~(1 << (i & 7));
  }

  /**
   * Strings of up to 12 bytes — every tag value Poste writes — inline into the string_t slot, zero
   * padded as DuckDB compares them; ASCII copied char by char (no native call), other characters
   * through TextEncoder; longer strings through duckdb_vector_assign_string_element.
   */
  private setString(i: number, s: string): void {
    const bytes = this.bytes!;
    const at = i * STRING_T + 4;
    const len = s.length;
    if (len <= INLINE_MAX) {
      let c = 0;
      for (; c < len; c++) {
        const code = s.charCodeAt(c);
        if (code > 0x7f) break;
        bytes[at + c] = code;
      }
      if (c === len) {
        this.u32![i * 4] = len;
        return;
      }
      const { read, written } = encoder.encodeInto(s, bytes.subarray(at, at + INLINE_MAX));
      if (read === len) {
        this.u32![i * 4] = written;
        return;
      }
      // Multi-byte characters past 12 bytes: clear what was written, the heap path takes it.
      bytes.fill(0, at, at + INLINE_MAX);
    }
    this.long.push([i, s]);
  }

  /** Copies the column into its vector of a data chunk. */
  copyInto(vector: duckdb.Vector): void {
    const data = this.f64 ?? this.i32 ?? this.bytes!;
    duckdb.copy_data_to_vector(vector, 0, data.buffer, 0, data.byteLength);
    for (const [i, s] of this.long) duckdb.vector_assign_string_element(vector, i, s);
    if (this.validity !== undefined) {
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(vector, 0, this.validity.buffer, 0, this.validity.byteLength);
    }
  }
}

/** A data chunk of `n` rows of these column types, filled by `fill` (one filler per column), appended. */
export function appendChunk(
  appender: DuckDBAppender,
  types: readonly string[],
  n: number,
  fill: (columns: readonly ColumnFiller[]) => void,
): void {
  const chunk = DuckDBDataChunk.create(
    types.map((t) => LOGICAL[t]!),
    n,
  );
  const fillers = types.map((t) => new ColumnFiller(t, n));
  fill(fillers);
  for (const [c, filler] of fillers.entries()) filler.copyInto(duckdb.data_chunk_get_vector(chunk.chunk, c));
  appender.appendDataChunk(chunk);
}

/**
 * Appends `count` rows column by column through DuckDB data chunks: each column of up to 2,048
 * rows is filled in one typed array and copied into its vector in one call, instead of one native
 * call per value (the row-wise appender: 15 calls per luminaire reading).
 */
export function appendColumnWise(appender: DuckDBAppender, columns: readonly ColumnSource[], count: number): void {
  const types = columns.map((c) => c.type);
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, count - start);
    appendChunk(appender, types, n, (fillers) => {
      for (const [c, { value }] of columns.entries()) {
        const filler = fillers[c]!;
        for (let i = 0; i < n; i++) {
          const v = value(start + i);
          if (v === undefined || v === null) filler.setNull(i);
          else filler.set(i, v);
        }
      }
    });
  }
}
