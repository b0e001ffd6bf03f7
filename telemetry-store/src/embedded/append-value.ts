import type { DuckDBAppender } from '@duckdb/node-api';
import type { ColumnType } from './sql';

/** One value through DuckDB's appender, by the column's type (undefined or null: NULL). */
export function appendValue(appender: DuckDBAppender, type: ColumnType | string, v: number | string | boolean | null | undefined): void {
  if (v === undefined || v === null) appender.appendNull();
  else if (type === 'BIGINT') appender.appendBigInt(BigInt(v as number));
  else if (type === 'DOUBLE') appender.appendDouble(v as number);
  else if (type === 'BOOLEAN') appender.appendBoolean(v as boolean);
  else appender.appendVarchar(String(v));
}
