import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReadGate, GateBusyError, GateTimeoutError } from './read-gate';

/** A store call the test finishes by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('read gate', () => {
  it('runs at most maxConcurrent queries, queues maxQueued, refuses the rest as busy at once', async () => {
    const gate = createReadGate({ maxConcurrent: 2, maxQueued: 1, cacheTtlMs: 0, staleMs: 0, cacheEntries: 8, readShare: 1, maxRestMs: 0 });
    const calls = [deferred<string>(), deferred<string>(), deferred<string>()];
    let started = 0;
    const run = (i: number) => gate.run(`k${i}`, 5_000, () => calls[started++]!.promise);
    const a = run(0);
    const b = run(1);
    const c = run(2); // queued
    await tick();
    assert.equal(gate.active, 2);
    assert.equal(gate.queued, 1);
    assert.equal(started, 2);
    await assert.rejects(run(3), GateBusyError);
    calls[0]!.resolve('a');
    assert.equal(await a, 'a');
    await tick();
    assert.equal(started, 3, 'the queued request took the freed slot');
    calls[1]!.resolve('b');
    calls[2]!.resolve('c');
    assert.deepEqual(await Promise.all([b, c]), ['b', 'c']);
    assert.equal(gate.active, 0);
  });

  it('a request that waits in the queue past its time-out is refused busy, and never runs', async () => {
    const gate = createReadGate({ maxConcurrent: 1, maxQueued: 4, cacheTtlMs: 0, staleMs: 0, cacheEntries: 8, readShare: 1, maxRestMs: 0 });
    const hold = deferred<number>();
    let ran = 0;
    const first = gate.run('a', 5_000, () => hold.promise);
    await assert.rejects(
      gate.run('b', 30, async () => {
        ran += 1;
        return 2;
      }),
      GateBusyError,
    );
    assert.equal(gate.queued, 0);
    hold.resolve(1);
    assert.equal(await first, 1);
    await tick();
    assert.equal(ran, 0);
  });

  it('identical requests share one query; its result is reused for cacheTtlMs, then asked again', async () => {
    let t = 0;
    const gate = createReadGate({
      maxConcurrent: 1,
      maxQueued: 0,
      cacheTtlMs: 1_000,
      staleMs: 0,
      cacheEntries: 8,
      readShare: 1,
      maxRestMs: 0,
      now: () => t,
    });
    const hold = deferred<string>();
    let calls = 0;
    const work = () => {
      calls += 1;
      return hold.promise;
    };
    // 20 at once with one slot and no queue: only possible because they join the one in flight.
    const all = Array.from({ length: 20 }, () => gate.run('same', 5_000, work));
    hold.resolve('report');
    assert.deepEqual(new Set(await Promise.all(all)), new Set(['report']));
    assert.equal(calls, 1);
    t = 999;
    assert.equal(await gate.run('same', 5_000, async () => `again ${++calls}`), 'report');
    t = 1_000;
    assert.equal(await gate.run('same', 5_000, async () => `again ${++calls}`), 'again 2');
  });

  it('answers an expired result within staleMs at once while one query renews it; past staleMs, callers wait', async () => {
    let t = 0;
    const gate = createReadGate({
      maxConcurrent: 1,
      maxQueued: 0,
      cacheTtlMs: 1_000,
      staleMs: 5_000,
      cacheEntries: 8,
      readShare: 1,
      maxRestMs: 0,
      now: () => t,
    });
    let calls = 0;
    assert.equal(await gate.run('k', 5_000, async () => `v${++calls}`), 'v1');
    t = 1_500; // expired, within staleMs
    const renewal = deferred<string>();
    const stale = await Promise.all(
      Array.from({ length: 10 }, () =>
        gate.run('k', 5_000, () => {
          calls += 1;
          return renewal.promise;
        }),
      ),
    );
    assert.deepEqual(new Set(stale), new Set(['v1']), 'every caller got the stale result without waiting');
    assert.equal(calls, 2, 'one renewal for all ten');
    assert.equal(gate.active, 1);
    renewal.resolve('v2');
    await tick();
    assert.equal(await gate.run('k', 5_000, async () => `v${++calls}`), 'v2', 'the renewal replaced the entry');
    t = 1_500 + 1_000 + 5_000; // the renewed entry (stored at 1,500) is past ttl + staleMs
    const waited = gate.run('k', 5_000, async () => `v${++calls}`);
    assert.equal(await waited, 'v3');
    assert.equal(calls, 3);
  });

  it('a refused or failed renewal leaves the stale entry to expire; a later caller renews it', async () => {
    let t = 0;
    const gate = createReadGate({
      maxConcurrent: 1,
      maxQueued: 0,
      cacheTtlMs: 100,
      staleMs: 1_000,
      cacheEntries: 8,
      readShare: 1,
      maxRestMs: 0,
      now: () => t,
    });
    assert.equal(await gate.run('k', 5_000, async () => 'v1'), 'v1');
    const other = deferred<string>();
    const busy = gate.run('other', 5_000, () => other.promise); // takes the only slot
    t = 200;
    assert.equal(await gate.run('k', 5_000, async () => 'never'), 'v1', 'stale answer although the renewal was refused busy');
    other.resolve('o');
    await busy;
    assert.equal(await gate.run('k', 5_000, () => Promise.reject(new Error('store down'))), 'v1');
    await tick();
    assert.equal(await gate.run('k', 5_000, async () => 'v2'), 'v1', 'the entry was stale-served again; this call started the renewal');
    await tick();
    assert.equal(await gate.run('k', 5_000, async () => 'v3'), 'v2');
  });

  it('a failure is shared by the requests in flight but not cached', async () => {
    const gate = createReadGate({
      maxConcurrent: 1,
      maxQueued: 0,
      cacheTtlMs: 60_000,
      staleMs: 0,
      cacheEntries: 8,
      readShare: 1,
      maxRestMs: 0,
    });
    const hold = deferred<string>();
    const a = gate.run('k', 5_000, () => hold.promise);
    const b = gate.run('k', 5_000, () => Promise.resolve('never'));
    hold.reject(new Error('store down'));
    await assert.rejects(a, /store down/);
    await assert.rejects(b, /store down/);
    assert.equal(await gate.run('k', 5_000, async () => 'back'), 'back');
  });

  it('times a slow query out for the caller but holds its slot until the store answers', async () => {
    const gate = createReadGate({
      maxConcurrent: 1,
      maxQueued: 0,
      cacheTtlMs: 60_000,
      staleMs: 0,
      cacheEntries: 8,
      readShare: 1,
      maxRestMs: 0,
    });
    const hold = deferred<string>();
    await assert.rejects(
      gate.run('slow', 40, () => hold.promise),
      (err: unknown) => err instanceof GateTimeoutError && /40 ms/.test(err.message),
    );
    assert.equal(gate.active, 1, 'the query still runs against the store: its slot stays taken');
    await assert.rejects(
      gate.run('other', 1_000, async () => 'x'),
      GateBusyError,
    );
    hold.resolve('late');
    await tick();
    assert.equal(gate.active, 0);
    assert.equal(await gate.run('slow', 1_000, async () => 'fresh'), 'late', 'the late result was kept for the next identical request');
  });

  it('rests a slot after a query in proportion to its run time (readShare), at most maxRestMs', async () => {
    let t = 0;
    const gate = createReadGate({
      maxConcurrent: 1,
      maxQueued: 4,
      cacheTtlMs: 0,
      staleMs: 0,
      cacheEntries: 8,
      readShare: 0.25,
      maxRestMs: 120,
      now: () => t,
    });
    const hold = deferred<string>();
    const first = gate.run('a', 5_000, () => hold.promise);
    await tick();
    t = 20; // the query ran 20 ms: at a quarter share its slot rests 60 ms
    hold.resolve('a');
    await first;
    let secondStarted = -1;
    const wall0 = performance.now();
    const second = gate.run('b', 5_000, async () => {
      secondStarted = performance.now() - wall0;
      return 'b';
    });
    await tick();
    assert.equal(secondStarted, -1, 'the slot is resting');
    assert.equal(await second, 'b');
    assert.ok(secondStarted >= 50, `started after ${secondStarted} ms of rest`);
    // A query that ran 10 s would rest 30 s; maxRestMs caps it.
    const third = deferred<string>();
    const p = gate.run('c', 5_000, () => third.promise);
    await tick();
    t += 10_000;
    third.resolve('c');
    await p;
    const w = performance.now();
    assert.equal(await gate.run('d', 5_000, async () => 'd'), 'd');
    assert.ok(performance.now() - w < 1_000, 'rest capped at maxRestMs');
  });

  it('keeps at most cacheEntries results, dropping the oldest', async () => {
    const gate = createReadGate({
      maxConcurrent: 4,
      maxQueued: 0,
      cacheTtlMs: 60_000,
      staleMs: 0,
      cacheEntries: 2,
      readShare: 1,
      maxRestMs: 0,
    });
    for (const k of ['a', 'b', 'c']) await gate.run(k, 1_000, async () => `${k}1`);
    assert.equal(await gate.run('a', 1_000, async () => 'a2'), 'a2', 'a was evicted');
    assert.equal(await gate.run('c', 1_000, async () => 'c2'), 'c1');
  });
});
