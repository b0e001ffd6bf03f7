import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreWriteError } from '../errors';
import { openStore } from '../registry';
import { describeStoreContract } from '../testing/store-contract';
import { apPoint, luminairePoint } from '../testing/fixtures';
import { MemoryStore } from './store';

describeStoreContract('memory', () => openStore({ kind: 'memory' }));

const T0 = Date.UTC(2025, 0, 15);
const notRetryable = (err: unknown) => err instanceof StoreWriteError && !err.retryable;

test('unusable input is refused whole with a non-retryable StoreWriteError', async () => {
  const s = new MemoryStore();
  await s.write([luminairePoint({ luminaire: 'L1' }, T0, 10)]);
  const good = luminairePoint({ luminaire: 'L1' }, T0 + 1000, 20);
  await assert.rejects(s.write([good, { ...good, tags: { municipality: 'm', gateway: 'g' } }]), notRetryable);
  await assert.rejects(s.write([good, { ...good, ts: T0 + 0.5 }]), notRetryable);
  await assert.rejects(s.write([good, { ...good, fields: { activeEnergy: 'many' } }]), notRetryable);
  await assert.rejects(s.write([good, { ...good, fields: { activeEnergy: Number.NaN } }]), notRetryable);
  await assert.rejects(s.write([{ ...good, measurement: 'weather' as 'ap' }]), notRetryable);
  // nothing of a refused batch was kept, not even its good point
  assert.equal(await s.countPoints('luminaire', 0, T0 + 10_000), 1);
});

test('maxPoints bounds the store; overwriting an existing point does not count against it', async () => {
  const s = new MemoryStore({ maxPoints: 2 });
  await s.write([apPoint('a', T0), apPoint('a', T0 + 1)]);
  await s.write([apPoint('a', T0)]);
  await assert.rejects(s.write([apPoint('a', T0 + 2)]), (err: unknown) => notRetryable(err) && /maxPoints 2/.test(String(err)));
  assert.equal(await s.countPoints('ap', T0, T0 + 10), 2);
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
