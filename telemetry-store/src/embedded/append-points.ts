import type { DuckDBConnection } from '@duckdb/node-api';
import type { Point } from '../types';
import { appendValue } from './append-value';
import { appendChunk, CHUNK_ROWS, type ColumnFiller, columnWiseSupported } from './column-append';
import type { ColumnType } from './sql';

/**
 * The bulk path of a write (inside its transaction): one appender per measurement, column by column
 * (column-append.ts) when every column type allows, else value by value; values in the table's
 * column order, `columns` as the store knows them.
 */
export async function appendPoints(
  conn: DuckDBConnection,
  columns: ReadonlyMap<Point['measurement'], ReadonlyMap<string, ColumnType>>,
  points: readonly Point[],
): Promise<void> {
  const byMeasurement = new Map<Point['measurement'], Point[]>();
  for (const p of points) {
    const list = byMeasurement.get(p.measurement);
    if (list) list.push(p);
    else byMeasurement.set(p.measurement, [p]);
  }
  for (const [m, list] of byMeasurement) {
    const cols = [...columns.get(m)!];
    const appender = await conn.createAppender(m);
    try {
      const types = cols.map(([, type]) => type);
      if (columnWiseSupported(types)) {
        const walk = new PointWalk(cols.map(([name]) => name));
        for (let start = 0; start < list.length; start += CHUNK_ROWS) {
          const n = Math.min(CHUNK_ROWS, list.length - start);
          appendChunk(appender, types, n, (fillers) => walk.fill(fillers, list, start, n));
        }
      } else {
        for (const p of list) {
          for (const [name, type] of cols) appendValue(appender, type, name === 'ts' ? p.ts : (p.tags[name] ?? p.fields[name]));
          appender.endRow();
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }
}

/**
 * Puts points into a chunk's columns point by point: each point's tags and fields are walked once
 * (for…in, in the order they were made) and each value goes to its column, found by comparing the
 * name with the same position of the point before (ingest's points all have the same names in the
 * same order) and by a map lookup only when it differs; a column a point has no value for is NULL.
 * Reading each column's value from every point by name instead (a lookup per point, column and
 * object) took as long as DuckDB's own append.
 */
class PointWalk {
  private readonly index: ReadonlyMap<string, number>;
  private readonly ts: number;
  /** the names seen at each position of the previous point's tags / fields, and their columns (−1: none) */
  private readonly tagNames: string[] = [];
  private readonly tagColumns: number[] = [];
  private readonly fieldNames: string[] = [];
  private readonly fieldColumns: number[] = [];

  constructor(names: readonly string[]) {
    this.index = new Map(names.map((name, c) => [name, c]));
    this.ts = this.index.get('ts')!;
  }

  fill(fillers: readonly ColumnFiller[], points: readonly Point[], start: number, n: number): void {
    // The row each column was last given a value in: the others are NULL in that row.
    const filled = new Int32Array(fillers.length).fill(-1);
    const { tagNames, tagColumns, fieldNames, fieldColumns, index, ts } = this;
    const tsFiller = fillers[ts]!;
    for (let i = 0; i < n; i++) {
      const p = points[start + i]!;
      tsFiller.set(i, p.ts);
      filled[ts] = i;
      let k = 0;
      for (const name in p.tags) {
        let c = tagColumns[k];
        if (tagNames[k] !== name) {
          c = index.get(name) ?? -1;
          tagNames[k] = name;
          tagColumns[k] = c;
        }
        k++;
        if (c === undefined || c < 0) continue;
        fillers[c]!.set(i, p.tags[name]!);
        filled[c] = i;
      }
      k = 0;
      for (const name in p.fields) {
        let c = fieldColumns[k];
        if (fieldNames[k] !== name) {
          c = index.get(name) ?? -1;
          fieldNames[k] = name;
          fieldColumns[k] = c;
        }
        k++;
        if (c === undefined || c < 0) continue;
        const v = p.fields[name];
        if (v === undefined || v === null) continue;
        fillers[c]!.set(i, v);
        filled[c] = i;
      }
      for (let c = 0; c < filled.length; c++) if (filled[c] !== i) fillers[c]!.setNull(i);
    }
  }
}
