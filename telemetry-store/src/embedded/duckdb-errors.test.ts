import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { StoreWriteError } from '../errors';
import type { Point } from '../types';
import { classifyDuckDBError, duckDBWriteError } from './duckdb-errors';
import { EmbeddedStore } from './store';

/** The error a real DuckDB statement throws. */
async function duckError(sql: string, setup: string[] = []): Promise<Error> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    for (const s of setup) await conn.run(s);
    await conn.run(sql);
  } catch (err) {
    return err as Error;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  throw new Error(`expected ${sql} to fail`);
}

test('DuckDB conversion, constraint and binder errors are permanent', async () => {
  const table = ['CREATE TABLE t (k VARCHAR NOT NULL, v DOUBLE, PRIMARY KEY (k))'];
  for (const [sql, setup] of [
    ["INSERT INTO t VALUES ('a', 'many')", table],
    ['INSERT INTO t VALUES (NULL, 1)', table],
    ["INSERT INTO t VALUES ('a', 1), ('a', 2)", table],
    ["INSERT INTO t (nope) VALUES ('a')", table],
  ] as const) {
    const err = await duckError(sql, [...setup]);
    assert.equal(classifyDuckDBError(err), 'permanent', err.message);
    assert.equal(duckDBWriteError(err).retryable, false);
  }
});

test('DuckDB I/O, lock and commit failures are retryable; a fatal error asks for a reopen', () => {
  // Messages as DuckDB 1.x words them (captured from a DuckDB file on a full tmpfs, and from a
  // second process holding the file's lock).
  const cases: Array<[string, string]> = [
    ['TransactionContext Error: Failed to commit: Could not write file "/x/t.duckdb.wal": No space left on device', 'retryable'],
    ['IO Error: Could not set lock on file "/x/t.duckdb": Conflicting lock is held in /usr/bin/node (PID 7)', 'retryable'],
    ['IO Error: Could not read from file "/x/t.duckdb": Input/output error', 'retryable'],
    ['FATAL Error: Failed to create checkpoint because of error: Could not write file "/x/t.duckdb": No space left on device', 'reopen'],
    ['FATAL Error: Failed: database has been invalidated because of a previous fatal error.', 'reopen'],
    ["Conversion Error: Could not convert string 'IO Error' to DOUBLE", 'permanent'],
    ['Something DuckDB has never said before', 'retryable'],
  ];
  for (const [message, expected] of cases) assert.equal(classifyDuckDBError(new Error(message)), expected, message);
});

const lum = (ts: number, luminaire = 'L1'): Point => ({
  measurement: 'luminaire',
  tags: { municipality: 'm', gateway: 'g', luminaire, group: 'a' },
  // a wide string field makes the WAL grow fast enough to fill a small disk in a few writes
  fields: { activeEnergy: ts / 1000, operatingHours: 1, status: `ok ${'x'.repeat(200)} ${ts}` },
  ts,
});

/** Mounts a tmpfs of `sizeMb` on a fresh directory, or says why it cannot (not root, no mount). */
function mountTmpfs(dir: string, sizeMb: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
}

describe('embedded store on a full disk (a small tmpfs)', () => {
  let dir = '';
  let skip: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-embedded-full-'));
    skip = mountTmpfs(dir, 8);
  });
  after(async () => {
    // lazy: a store a failed test left open must not keep the mount (and the test run) hanging
    if (!skip) execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * One store filled until a write fails: `slackBytes` left free decides in which step of a write
   * the disk runs out (the appender's commit, the rollup save, the WAL), so each slack is a run.
   */
  async function fillAndRecover(slackBytes: number, path: string): Promise<void> {
    const store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    await store.write([lum(1_000)]);
    // Fill the disk to within `slackBytes`.
    const { bavail, bsize } = await statfs(dir);
    const filler = join(dir, 'filler');
    await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - slackBytes)));
    const acked: number[] = [1_000];
    let failure: unknown;
    let refused: Point[] = [];
    for (let i = 1; i <= 400 && failure === undefined; i++) {
      const batch = Array.from({ length: 50 }, (_, j) => lum(1_000 + i * 1_000 + j, `L${j}`));
      try {
        await store.write(batch);
        acked.push(...batch.map((p) => p.ts));
      } catch (err) {
        failure = err;
        refused = batch;
      }
    }
    assert.ok(failure instanceof StoreWriteError, `expected the disk to fill, got ${String(failure)}`);
    assert.equal(failure.retryable, true, failure.message);
    assert.match(failure.message, /No space left on device/);
    // Still full: the same batch again is still retryable, never "permanent".
    await assert.rejects(store.write(refused), (err: unknown) => err instanceof StoreWriteError && err.retryable);
    await rm(filler);
    await store.write(refused);
    acked.push(...refused.map((p) => p.ts));
    assert.equal(await store.countPoints('luminaire', 0, 1_000_000), acked.length, `slack ${slackBytes} B: points in the store`);
    await store.close();
    // and it is all in the file
    const again = new EmbeddedStore({ kind: 'embedded', path });
    await again.init();
    assert.equal(await again.countPoints('luminaire', 0, 1_000_000), acked.length, `slack ${slackBytes} B: points in the file`);
    await again.close();
  }

  test('disk full is a retryable StoreWriteError, and every acknowledged point is there exactly once after space is freed', async (t) => {
    if (skip) return t.skip(skip);
    for (const [i, slack] of [64, 16, 40, 96, 8, 128].entries()) {
      const sub = join(dir, `run${i}`);
      await mkdir(sub);
      await fillAndRecover(slack * 1024, join(sub, 'telemetry.duckdb'));
      await rm(sub, { recursive: true, force: true });
    }
  });
});
