import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendColumnWise, type CellValue, columnWiseSupported } from './column-append';

// Strings around the 12-byte inline limit (in bytes, not characters), empty, multi-byte, NULLs,
// and more rows than one data chunk holds (2,048): what comes back must be what went in.
const STRINGS = [
  '',
  'a',
  'campinas',
  'abcdefghijkl',
  'abcdefghijklm',
  'lum-000000001-long-id',
  'ção-ção-ção',
  'çãoçãoçãoçã',
  '日本語のテキスト',
  null,
];

test('column-wise appends read back value for value: inline and heap strings, NULLs, booleans, BIGINT, across chunks', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run('CREATE TABLE t (i BIGINT NOT NULL, s VARCHAR, d DOUBLE, b BOOLEAN)');
    const n = 5_000;
    const rows: CellValue[][] = Array.from({ length: n }, (_, i) => [
      i,
      STRINGS[i % STRINGS.length]!,
      i % 7 === 0 ? null : i * 1.5 - 3,
      i % 5 === 0 ? undefined : i % 2 === 0,
    ]);
    const types = ['BIGINT', 'VARCHAR', 'DOUBLE', 'BOOLEAN'];
    assert.equal(columnWiseSupported(types), true);
    const appender = await conn.createAppender('t');
    appendColumnWise(
      appender,
      types.map((type, c) => ({ type, value: (r: number) => rows[r]![c] })),
      n,
    );
    appender.flushSync();
    appender.closeSync();
    const back = (await conn.runAndReadAll('SELECT i, s, d, b FROM t ORDER BY i')).getRowsJS();
    assert.equal(back.length, n);
    for (let i = 0; i < n; i++) {
      const [, s, d, b] = rows[i]!;
      assert.deepEqual(back[i], [BigInt(i), s, d, b ?? null], `row ${i}`);
    }
    // Inline strings must compare equal to the same strings written by SQL (zero padding).
    const eq = await conn.runAndReadAll(`SELECT count(*) FROM t WHERE s = 'campinas'`);
    assert.equal(Number(eq.getRowsJS()[0]![0]), n / STRINGS.length);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
});

test('column types outside BIGINT, DOUBLE, BOOLEAN and VARCHAR are left to the row-wise path', () => {
  assert.equal(columnWiseSupported(['BIGINT', 'TIMESTAMP']), false);
});
