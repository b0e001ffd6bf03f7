import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { createDashboardApi, type DashboardApi } from './app';
import { HOUR, NOW, testInventory } from './test-support/fixtures';
import { MemoryStore } from '@poste/telemetry-store';
import { luminairePoint } from '@poste/telemetry-store/testing';

/**
 * The API over the real embedded (DuckDB, single file) store, the default of a city-in-a-box: the
 * same points give the same figures as over the in-memory test store, counter reset and replayed
 * (duplicate) points included.
 */
describe('dashboard over the embedded store', () => {
  let dir: string;
  let store: TelemetryStore;
  let api: DashboardApi;
  let reference: DashboardApi;

  const b = { municipality: 'belem', gateway: 'gw-b', group: 'av' };
  const points = [
    luminairePoint({ ...b, luminaire: 'lum-b1' }, NOW - 20 * HOUR, 10_000, 100),
    luminairePoint({ ...b, luminaire: 'lum-b1' }, NOW - 15 * HOUR, 10_300, 105),
    // the controller restarted: counters count again from zero
    luminairePoint({ ...b, luminaire: 'lum-b1' }, NOW - 10 * HOUR, 300, 5),
    luminairePoint({ ...b, luminaire: 'lum-b2' }, NOW - 20 * HOUR, 20_000, 200),
    luminairePoint({ ...b, luminaire: 'lum-b2' }, NOW - 10 * HOUR, 20_900, 210),
    luminairePoint({ municipality: 'santarem', gateway: 'gw-s', luminaire: 'lum-s1' }, NOW - 20 * HOUR, 5_000, 50),
    luminairePoint({ municipality: 'santarem', gateway: 'gw-s', luminaire: 'lum-s1' }, NOW - 10 * HOUR, 5_500, 60),
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-dash-duck-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'telemetry.duckdb') });
    await store.write(points);
    await store.write(points.slice(0, 3)); // a replay overwrites, it does not double count
    const memory = new MemoryStore();
    await memory.write(points);
    const common = {
      inventory: testInventory(),
      clock: { now: () => NOW },
      logger: false as const,
      defaultMetrics: false,
      publicReads: true,
    };
    api = await createDashboardApi({ store, ...common });
    reference = await createDashboardApi({ store: memory, ...common });
  });

  after(async () => {
    await api?.close();
    await reference?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('GET /api/v1/energy gives the expected figures, equal to the reference store', async () => {
    const res = await api.app.inject({ url: '/api/v1/energy' });
    assert.equal(res.statusCode, 200);
    const e = res.json() as { measuredKwh: number; baselineKwh: number; savedBrl: number; byGateway: unknown[] };
    assert.equal(e.measuredKwh, 0.6 + 0.9 + 0.5); // lum-b1: 300 Wh before the reset + 300 Wh after
    assert.equal(e.baselineKwh, 1.7 + 2.9 + 1.7); // lum-b1 lit 5 h + 5 h
    assert.equal(e.savedBrl, 3.08);
    assert.deepEqual(e, (await reference.app.inject({ url: '/api/v1/energy' })).json());
  });

  it('filters by municipality in the store query', async () => {
    const e = (await api.app.inject({ url: '/api/v1/energy?municipality=santarem' })).json() as { measuredKwh: number; luminaires: number };
    assert.equal(e.measuredKwh, 0.5);
    assert.equal(e.luminaires, 1);
  });

  it('GET /healthz probes the embedded store', async () => {
    const res = await api.app.inject({ url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok', store: { kind: 'embedded', reachable: true }, fleetLink: 'none' });
  });
});
