import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EnergyQuery, LuminaireEnergy } from '@poste/telemetry-store';
import { MemoryStore } from '@poste/telemetry-store';
import { createDashboardApi } from '../app';
import { QueryLimitsError } from '../query-limits';
import { startTestApi } from '../test-support/app';
import { NOW, seededStore, testInventory } from '../test-support/fixtures';

const DAY = 86_400_000;

/** The seeded store whose energy queries wait until the test releases them, counting calls. */
class HeldStore extends MemoryStore {
  calls = 0;
  running = 0;
  private releases: Array<() => void> = [];
  override async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    this.calls += 1;
    this.running += 1;
    try {
      await new Promise<void>((r) => this.releases.push(r));
      return await super.luminaireEnergy(q);
    } finally {
      this.running -= 1;
    }
  }
  releaseAll(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

const heldStore = () => seededStore(new HeldStore());

describe('energy query limits', () => {
  it('refuses a range longer than maxRangeDays with a 400 naming the limit', async () => {
    const t = await startTestApi({ limits: { maxRangeDays: 31 } });
    try {
      const r = await t.api.app.inject({ url: `/api/v1/energy?from=${NOW - 40 * DAY}&to=${NOW}` });
      assert.equal(r.statusCode, 400);
      const issue = (r.json() as { issues: { path: string; reason: string }[] }).issues[0]!;
      assert.equal(issue.path, 'to');
      assert.match(issue.reason, /40\.0 days is longer than the limit of 31 days \(maxRangeDays\)/);
      assert.equal((await t.api.app.inject({ url: `/api/v1/energy?from=${NOW - 31 * DAY}&to=${NOW}` })).statusCode, 200);
    } finally {
      await t.api.close();
    }
  });

  it('refuses more luminaires than maxSeries, asking to narrow by municipality', async () => {
    const t = await startTestApi({ limits: { maxSeries: 2 } });
    try {
      const r = await t.api.app.inject({ url: '/api/v1/energy' });
      assert.equal(r.statusCode, 400);
      assert.match(r.body, /covers 3 luminaires, more than the limit of 2 per response \(maxSeries\); narrow it with municipality=/);
      assert.equal((await t.api.app.inject({ url: '/api/v1/energy?municipality=belem' })).statusCode, 200);
    } finally {
      await t.api.close();
    }
  });

  it('beyond maxConcurrent + maxQueued answers 503 busy with Retry-After at once, and counts it', async () => {
    const store = await heldStore();
    const t = await startTestApi({ store, limits: { maxConcurrent: 2, maxQueued: 1, retryAfterSeconds: 7, readShare: 1 } });
    try {
      // Distinct ranges: no single flight to share.
      const ask = (i: number) => t.api.app.inject({ url: `/api/v1/energy?from=${NOW - DAY - i}&to=${NOW}` });
      const admitted = [ask(0), ask(1), ask(2)];
      while (store.running < 2) await new Promise((r) => setImmediate(r));
      const refused = await Promise.all([ask(3), ask(4), ask(5)]);
      for (const r of refused) {
        assert.equal(r.statusCode, 503);
        assert.equal(r.headers['retry-after'], '7');
        assert.equal((r.json() as { error: string }).error, 'busy');
      }
      assert.equal(store.running, 2, 'never more store queries than maxConcurrent');
      store.releaseAll();
      while (store.calls < 3) await new Promise((r) => setImmediate(r));
      store.releaseAll();
      for (const r of await Promise.all(admitted)) assert.equal(r.statusCode, 200);
      assert.equal(store.calls, 3);
      const metrics = (await t.api.app.inject({ url: '/metrics' })).body;
      assert.match(metrics, /poste_dashboard_reads_shed_total\{route="\/api\/v1\/energy"\} 3/);
      assert.match(metrics, /poste_dashboard_reads_in_flight 0/);
      assert.match(metrics, /poste_dashboard_reads_served_total\{how="query"\} 6/);
    } finally {
      store.releaseAll();
      await t.api.close();
    }
  });

  it('a store slower than timeoutMs gets a 504 with a clear body; the late result is dropped', async () => {
    const store = await heldStore();
    const t = await startTestApi({ store, limits: { timeoutMs: 50 } });
    try {
      const r = await t.api.app.inject({ url: '/api/v1/energy' });
      assert.equal(r.statusCode, 504);
      assert.deepEqual(r.json(), {
        error: 'timeout',
        message: 'no answer from the store within 50 ms; ask for a shorter range or one municipality',
      });
      assert.match(
        (await t.api.app.inject({ url: '/metrics' })).body,
        /poste_dashboard_read_timeouts_total\{route="\/api\/v1\/energy"\} 1/,
      );
      store.releaseAll();
    } finally {
      store.releaseAll();
      await t.api.close();
    }
  });

  it('20 identical concurrent requests cost one store query, and the cache serves the next ones', async () => {
    const store = await heldStore();
    const t = await startTestApi({ store, limits: { maxConcurrent: 1, maxQueued: 0, cacheTtlMs: 60_000 } });
    try {
      const all = Array.from({ length: 20 }, () => t.api.app.inject({ url: '/api/v1/energy?municipality=belem' }));
      while (store.calls < 1) await new Promise((r) => setImmediate(r));
      store.releaseAll();
      const bodies = (await Promise.all(all)).map((r) => {
        assert.equal(r.statusCode, 200);
        return r.body;
      });
      assert.equal(new Set(bodies).size, 1);
      assert.equal((await t.api.app.inject({ url: '/api/v1/energy?municipality=belem' })).body, bodies[0]);
      assert.equal(store.calls, 1);
    } finally {
      store.releaseAll();
      await t.api.close();
    }
  });

  it('createDashboardApi refuses invalid limits, naming each one', async () => {
    await assert.rejects(
      createDashboardApi({
        store: new MemoryStore(),
        inventory: testInventory(),
        logger: false,
        defaultMetrics: false,
        limits: { maxConcurrent: 0, timeoutMs: -1 },
      }),
      (err: unknown) =>
        err instanceof QueryLimitsError && /limits\.timeoutMs: /.test(err.message) && /limits\.maxConcurrent: /.test(err.message),
    );
    await assert.rejects(
      createDashboardApi({ store: new MemoryStore(), inventory: testInventory(), logger: false, limits: { maxConcurent: 1 } as never }),
      /unknown option maxConcurent/,
    );
  });
});
