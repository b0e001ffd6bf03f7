import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PartialWriteError, StoreWriteError } from '../errors';
import type { Point } from '../types';
import { EmbeddedStore } from './store';
import { DuckDBInstance } from '@duckdb/node-api';

const lum = (ts: number, extra: Point['fields'] = {}): Point => ({
  measurement: 'luminaire',
  tags: { municipality: 'm', gateway: 'g', luminaire: 'L1', group: 'a' },
  fields: { activeEnergy: ts / 1000, operatingHours: 1, ...extra },
  ts,
});

test('data survives closing and reopening the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-embedded-'));
  try {
    const path = join(dir, 'nested', 'telemetry.duckdb');
    const a = new EmbeddedStore({ kind: 'embedded', path });
    await a.init();
    await a.write([lum(1000), lum(2000)]);
    await a.close();
    const b = new EmbeddedStore({ kind: 'embedded', path });
    await b.init();
    assert.equal(await b.countPoints('luminaire', 0, 10_000), 2);
    await b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a field never seen before becomes a column; unusable input is a non-retryable StoreWriteError', async () => {
  const s = new EmbeddedStore({ kind: 'embedded', path: ':memory:' });
  await s.init();
  await s.write([lum(1000, { firmwareBuild: 42 })]);
  assert.equal(await s.countPoints('luminaire', 0, 2000), 1);
  const notRetryable = (err: unknown) => err instanceof StoreWriteError && !err.retryable;
  await assert.rejects(s.write([{ ...lum(3000), tags: { municipality: 'm', gateway: 'g' } }]), notRetryable);
  await assert.rejects(s.write([lum(3000, { 'bad name': 1 })]), notRetryable);
  await assert.rejects(s.write([lum(3000.5)]), notRetryable);
  await assert.rejects(s.write([lum(4000, { activeEnergy: 'many' })]), notRetryable);
  // a failed write leaves nothing behind (one transaction per write)
  assert.equal(await s.countPoints('luminaire', 0, 10_000), 1);
  await s.close();
});

test('one bad point is refused alone (its index in a PartialWriteError); the rest of the batch is written', async () => {
  const s = new EmbeddedStore({ kind: 'embedded', path: ':memory:' });
  await s.init();
  const batch = [
    lum(1000),
    lum(2000, { activeEnergy: 'many' }),
    lum(3000, { 'bad name': 1 }),
    lum(4000, { firmwareBuild: 7 }),
    lum(5000, { firmwareBuild: 'seven' }),
  ];
  await assert.rejects(s.write(batch), (err: unknown) => {
    assert.ok(err instanceof PartialWriteError, String(err));
    assert.deepEqual([err.written, err.refused, err.refusedIndices], [2, 3, [1, 2, 4]]);
    assert.match(err.message, /#1: luminaire.activeEnergy: VARCHAR value for a DOUBLE column/);
    return true;
  });
  assert.equal(await s.countPoints('luminaire', 0, 10_000), 2);
  // the column the refused point would have typed differently was created by the accepted one
  await s.write([lum(6000, { firmwareBuild: 8 })]);
  assert.equal(await s.countPoints('luminaire', 0, 10_000), 3);
  await s.close();
});

test('writes queued behind a running one go in one transaction, each answered for its own points', async () => {
  const s = new EmbeddedStore({ kind: 'embedded', path: ':memory:' });
  await s.init();
  // The first write runs; the next three queue behind it and are merged.
  const first = s.write([lum(1000)]);
  const a = s.write([lum(2000), lum(3000)]);
  const b = s.write([
    lum(4000),
    lum(3000, { activeEnergy: 99 }), // conflicts with a's point at 3000
    lum(3000), // identical to a's: skipped
    lum(5000, { activeEnergy: 'many' }), // refused by validation
  ]);
  const c = s.write([lum(6000)]);
  await first;
  await a;
  await assert.rejects(b, (err: unknown) => {
    assert.ok(err instanceof PartialWriteError, String(err));
    assert.deepEqual([err.written, err.refused, err.refusedIndices], [2, 2, [1, 3]]);
    assert.match(err.message, /#1: conflicting duplicate/);
    return true;
  });
  await c;
  assert.equal(await s.countPoints('luminaire', 0, 10_000), 5);
  const [hour] = await s.luminaireHours({ from: 0, to: 3_600_000 });
  assert.equal(hour?.readings, 5);
  await s.close();
});

test('a frozen tags object shared by many points (ingest shares one per device) creates its columns in every store it reaches', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-embedded-'));
  try {
    const tags = Object.freeze({ municipality: 'm', gateway: 'g', luminaire: 'L1', group: 'a', cabinet: 'c1' });
    const point = (ts: number): Point => ({ measurement: 'luminaire', tags, fields: { activeEnergy: ts / 1000 }, ts });
    for (const name of ['a.duckdb', 'b.duckdb']) {
      const s = new EmbeddedStore({ kind: 'embedded', path: join(dir, name) });
      await s.init();
      await s.write([point(1000)]);
      await s.write([point(2000), point(3000)]);
      await s.close();
      const db = await DuckDBInstance.create(join(dir, name));
      const conn = await db.connect();
      const rows = (await conn.runAndReadAll('SELECT cabinet, ts FROM luminaire ORDER BY ts')).getRowsJS();
      conn.closeSync();
      db.closeSync();
      assert.deepEqual(
        rows,
        [
          ['c1', 1000n],
          ['c1', 2000n],
          ['c1', 3000n],
        ],
        name,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
