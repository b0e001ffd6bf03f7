import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, openStore, type Point, type TelemetryStore } from '@poste/telemetry-store';
import { startInfluxDB, type RunningInfluxDB } from '@poste/telemetry-store/testing';
import { createDashboardApi, type DashboardApi } from './app';
import { computeEnergy } from './energy';
import { baselineSourceOf, computeEnergyFromCells } from './energy-cells';
import { parseInventory } from './inventory';

/**
 * The savings report over the InfluxDB store's per-gateway and per-group sums (energyCells) is the
 * report of the luminaire rows (memory store), unrounded: counter resets, resent batches, a late
 * reading, a per-luminaire baseline, a luminaire moving group, and a municipality not in the
 * inventory (its rows stay unassigned).
 */
const DAY_MS = 86_400_000;
/** midnight at UTC−3: a whole tier day */
const D0 = Date.UTC(2026, 6, 1, 3);

function readings(): Point[] {
  const out: Point[] = [];
  let lit = 0;
  for (let ts = D0 - 3_600_000, k = 0; ts < D0 + 3 * DAY_MS; ts += 30 * 60_000, k++) {
    if (k % 48 < 24) lit++;
    for (let l = 0; l < 8; l++) {
      const municipality = l < 5 ? 'belem' : l < 7 ? 'santarem' : 'nowhere';
      out.push({
        measurement: 'luminaire',
        tags: {
          municipality,
          gateway: `gw-${municipality}-${l % 2}`,
          luminaire: `lum-${l}`,
          group: l === 3 && ts >= D0 + 2 * DAY_MS ? 'praça' : `g${l % 2}`,
        },
        // lum-1's controller restarts on day 1: its counters count again from zero
        fields: { activeEnergy: l === 1 && k >= 60 ? (k - 60) * 4 : 1_000 * l + k * (4 + l), operatingHours: 20 + lit * 0.5, status: 'ok' },
        ts,
      });
    }
  }
  return out;
}

const inventory = parseInventory({
  municipalities: [
    { id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 },
    { id: 'santarem', name: 'Santarém', timeZone: 'America/Santarem', tariffBrlPerKwh: 0.75, defaultBaselineW: 250 },
  ],
  gateways: {},
  luminaires: { 'lum-2': { baselineW: 400 } },
});

describe('savings over the InfluxDB store from its cells', () => {
  let influx: RunningInfluxDB;
  let store: TelemetryStore;
  const memory = new MemoryStore();
  let api: DashboardApi;
  let reference: DashboardApi;
  const points = readings();
  const late = (p: Point) => p.tags.luminaire === 'lum-4' && p.ts >= D0 + DAY_MS + 5 * 3_600_000 && p.ts < D0 + DAY_MS + 6 * 3_600_000;

  before(async () => {
    influx = await startInfluxDB();
    store = await openStore({ kind: 'influxdb1', url: influx.url, database: 'savings' });
    const early = points.filter((p) => !late(p));
    for (let i = 0; i < early.length; i += 60) await store.write(early.slice(i, i + 60));
    await store.write(early.slice(0, 60)); // resent
    await memory.write(points);
    api = await createDashboardApi({
      store,
      inventory,
      clock: { now: () => D0 + 3 * DAY_MS },
      logger: false,
      defaultMetrics: false,
      publicReads: true,
    });
    reference = await createDashboardApi({
      store: memory,
      inventory,
      clock: { now: () => D0 + 3 * DAY_MS },
      logger: false,
      defaultMetrics: false,
      publicReads: true,
    });
  });
  after(async () => {
    await api?.close();
    await reference?.close();
    await store?.close();
    await influx?.stop();
  });

  it('equals the luminaire rows’ report, unrounded, before and after a late reading', async () => {
    const ranges = [
      { from: D0, to: D0 + 2 * DAY_MS },
      { from: D0, to: D0 + 3 * DAY_MS },
      { from: D0, to: D0 + 3 * DAY_MS, municipality: 'belem' },
    ];
    const check = async () => {
      for (const q of ranges) {
        const cells = await store.energyCells?.(q, baselineSourceOf(inventory));
        assert.ok(cells, 'the InfluxDB store answers whole days from cells');
        const rows = await memory.luminaireEnergy(q);
        assert.deepEqual(computeEnergyFromCells(cells, inventory, q), computeEnergy(rows, inventory, q), JSON.stringify(q));
      }
    };
    const memoryBefore = new MemoryStore();
    await memoryBefore.write(points.filter((p) => !late(p)));
    const q = { from: D0, to: D0 + 2 * DAY_MS };
    // Twice: the first read sums the hour rollups (and packs the days), the second reads the packs.
    for (let i = 0; i < 2; i++) {
      const cells = await store.energyCells?.(q, baselineSourceOf(inventory));
      assert.ok(cells);
      assert.deepEqual(computeEnergyFromCells(cells, inventory, q), computeEnergy(await memoryBefore.luminaireEnergy(q), inventory, q));
      await new Promise((r) => setTimeout(r, 100));
    }
    // lum-4's late readings of day 1, one of them read as a meter restart.
    await store.write(points.filter(late));
    await check();
  });

  it('GET /api/v1/energy answers as over the luminaire rows', async () => {
    for (const query of [
      `from=${D0}&to=${D0 + 3 * DAY_MS}`,
      `from=${D0}&to=${D0 + 2 * DAY_MS}&municipality=santarem`,
      `from=${D0 + 3_600_000}&to=${D0 + DAY_MS}`,
    ]) {
      const [a, b] = await Promise.all([api.app.inject(`/api/v1/energy?${query}`), reference.app.inject(`/api/v1/energy?${query}`)]);
      assert.equal(a.statusCode, 200, a.body);
      assert.deepEqual(a.json(), b.json(), query);
    }
  });
});
