import type { DuckDBConnection } from '@duckdb/node-api';
import { SERIES_KEY_TAGS } from '../measurements';
import type { Point } from '../types';
import { appendValue } from './append-value';
import { appendColumnWise, type ColumnSource, columnWiseSupported } from './column-append';
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
      if (columnWiseSupported(cols.map(([, type]) => type))) appendColumnWise(appender, sources(m, cols, list), list.length);
      else {
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

/** Each column's values: ts, a series-key tag, or any other tag or field by name. */
function sources(m: Point['measurement'], cols: ReadonlyArray<[string, ColumnType]>, list: readonly Point[]): ColumnSource[] {
  const keyTags = new Set<string>(SERIES_KEY_TAGS[m]);
  return cols.map(([name, type]) => ({
    type,
    value:
      name === 'ts'
        ? (i: number) => list[i]!.ts
        : keyTags.has(name)
          ? (i: number) => list[i]!.tags[name]
          : (i: number) => list[i]!.tags[name] ?? list[i]!.fields[name],
  }));
}
