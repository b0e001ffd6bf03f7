import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartialWriteError, StoreWriteError } from '../errors';
import { openStore } from '../registry';
import { describeStoreContract } from '../testing/store-contract';
import { apPoint, luminairePoint } from '../testing/fixtures';
import type { Point } from '../types';
import { MemoryStore } from './store';

describeStoreContract('memory', () => openStore({ kind: 'memory' }));

const T0 = Date.UTC(2025, 0, 15);
const retryable = (err: unknown) => err instanceof StoreWriteError && err.retryable;

test('an unusable point is refused alone: the others are written, a PartialWriteError names it', async () => {
  const s = new MemoryStore();
  await s.write([luminairePoint({ luminaire: 'L1' }, T0, 10)]);
  const good = (i: number) => luminairePoint({ luminaire: 'L1' }, T0 + i * 1000, 10 + i);
  const cases: Array<[string, Point]> = [
    ['without tag luminaire', { ...good(90), tags: { municipality: 'm', gateway: 'g' } }],
    ['integer ms', { ...good(91), ts: T0 + 0.5 }],
    ['string value for a number field', { ...good(92), fields: { activeEnergy: 'many' } }],
    ['non-finite', { ...good(93), fields: { activeEnergy: Number.NaN } }],
    ['unknown measurement', { ...good(94), measurement: 'weather' as 'ap' }],
  ];
  let i = 1;
  for (const [why, bad] of cases) {
    const batch = [good(i++), bad, good(i++)];
    await assert.rejects(s.write(batch), (err: unknown) => {
      assert.ok(err instanceof PartialWriteError, String(err));
      assert.equal(err.retryable, false);
      assert.deepEqual([err.written, err.refused, err.refusedIndices], [2, 1, [1]]);
      assert.match(err.message, new RegExp(why));
      return true;
    });
  }
  // every good point is there, none of the bad ones
  assert.equal(await s.countPoints('luminaire', 0, T0 + 100_000), 1 + 2 * cases.length);
});

test('maxPoints bounds the store (retryable, like a full disk); overwriting does not count against it', async () => {
  const s = new MemoryStore({ maxPoints: 2 });
  await s.write([apPoint('a', T0), apPoint('a', T0 + 1)]);
  await s.write([apPoint('a', T0)]);
  await assert.rejects(s.write([apPoint('a', T0 + 2)]), (err: unknown) => retryable(err) && /maxPoints 2/.test(String(err)));
  assert.equal(await s.countPoints('ap', T0, T0 + 10), 2);
  s.clear();
  await s.write([apPoint('a', T0 + 2)]);
  assert.equal(await s.countPoints('ap', T0, T0 + 10), 1);
});

test('failNextWrites = n: the next n writes fail retryably, then writes succeed', async () => {
  const s = new MemoryStore();
  s.failNextWrites = 2;
  await assert.rejects(s.write([apPoint('a', T0)]), retryable);
  await assert.rejects(s.write([apPoint('a', T0)]), retryable);
  await s.write([apPoint('a', T0)]);
  assert.equal(await s.countPoints('ap', 0, T0 + 1), 1);
  assert.equal(s.failNextWrites, 0);
});

test('stores with the same name share their points; unnamed stores are private', async () => {
  const a = await openStore({ kind: 'memory', name: 'memory-test-shared' });
  const b = await openStore({ kind: 'memory', name: 'memory-test-shared' });
  const c = await openStore({ kind: 'memory' });
  await a.write([apPoint('x', T0)]);
  assert.equal(await b.countPoints('ap', T0, T0 + 1), 1);
  assert.equal(await c.countPoints('ap', T0, T0 + 1), 0);
});

test('failing = true: writes reject with a retryable StoreWriteError, reads reject, until cleared', async () => {
  const s = new MemoryStore();
  s.failing = true;
  await assert.rejects(s.write([apPoint('a', T0)]), (err: unknown) => err instanceof StoreWriteError && err.retryable);
  await assert.rejects(s.countPoints('ap', 0, T0 + 1), /simulated outage/);
  await assert.rejects(s.luminaireEnergy({ from: 0, to: T0 }), /simulated outage/);
  s.failing = false;
  await s.write([apPoint('a', T0)]);
  assert.equal(await s.countPoints('ap', 0, T0 + 1), 1);
});

test('points shaped like stored ones are still checked: a non-finite value or a type conflict is refused, new fields recorded', async () => {
  const s = new MemoryStore();
  const p = (ts: number, fields: Point['fields']): Point => ({ ...luminairePoint({ luminaire: 'L1' }, T0 + ts, 1), fields });
  await s.write([p(0, { activeEnergy: 1, status: 'ok' })]);
  await s.write([p(1, { activeEnergy: 2, status: 'ok' })]); // the shape is learnt from stored types
  const refusedOne = async (bad: Point, why: RegExp) =>
    assert.rejects(s.write([p(2, { activeEnergy: 3, status: 'ok' }), bad]), (err: unknown) => {
      assert.ok(err instanceof PartialWriteError, String(err));
      assert.deepEqual(err.refusedIndices, [1]);
      assert.match(err.message, why);
      return true;
    });
  await refusedOne(p(10, { activeEnergy: Number.POSITIVE_INFINITY, status: 'ok' }), /non-finite/);
  await refusedOne(p(11, { activeEnergy: 'x', status: 'ok' }), /type conflict/);
  await refusedOne(p(12, { status: 1, activeEnergy: 4 }), /type conflict/);
  await s.write([p(13, { activeEnergy: 5, status: 'ok', dimLevel: 7 })]);
  await refusedOne(p(14, { activeEnergy: 6, status: 'ok', dimLevel: 'high' }), /dimLevel: string value for a number field/);
  assert.equal(await s.countPoints('luminaire', T0, T0 + 100), 4);
});
