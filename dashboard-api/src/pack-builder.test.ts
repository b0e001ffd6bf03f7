import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, openStore, type Point, type TelemetryStore } from '@poste/telemetry-store';
import { startInfluxDB, type RunningInfluxDB } from '@poste/telemetry-store/testing';
import { Registry } from 'prom-client';
import { computeEnergy } from './energy';
import { baselineSourceOf, computeEnergyFromCells } from './energy-cells';
import { parseInventory } from './inventory';
import { startPackBuilder } from './pack-builder';

/**
 * The pack builder against a real influxd: after a pass, a savings read over the closed days is
 * answered from packs alone (no day summed from the hour rows) and equals the luminaire rows'
 * report unrounded; a late reading into a packed day is read right at once and repacked by the
 * next pass; a stop during a pass ends it after the current step.
 */
const DAY_MS = 86_400_000;
/** midnight at UTC−3: a whole tier day */
const D0 = Date.UTC(2026, 6, 1, 3);
const NOW = D0 + 4 * DAY_MS + 3_600_000;

function readings(): Point[] {
  const out: Point[] = [];
  for (let ts = D0 - 3_600_000, k = 0; ts < NOW - 1_800_000; ts += 30 * 60_000, k++) {
    for (let l = 0; l < 6; l++) {
      const municipality = l < 4 ? 'belem' : 'santarem';
      out.push({
        measurement: 'luminaire',
        tags: { municipality, gateway: `gw-${municipality}-${l % 2}`, luminaire: `lum-${l}`, group: `g${l % 2}` },
        fields: { activeEnergy: 1_000 * l + k * (4 + l), operatingHours: 20 + k * 0.25, status: 'ok' },
        ts,
      });
    }
  }
  return out;
}

const municipalities = [
  { id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 },
  { id: 'santarem', name: 'Santarém', timeZone: 'America/Santarem', tariffBrlPerKwh: 0.75, defaultBaselineW: 250 },
];
const inventory = parseInventory({ municipalities, gateways: {}, luminaires: { 'lum-2': { baselineW: 400 } } });
const clock = { now: () => NOW };
const options = { horizonDays: 70, maxDaysPerPass: 1_000, share: 1 };

describe('pack builder (real influxd)', () => {
  let influx: RunningInfluxDB;
  let store: TelemetryStore;
  const points = readings();
  // lum-1's readings of day 2, 05:00–06:00, arrive late
  const late = (p: Point) =>
    p.tags.luminaire === 'lum-1' && p.ts >= D0 + 2 * DAY_MS + 5 * 3_600_000 && p.ts < D0 + 2 * DAY_MS + 6 * 3_600_000;
  // lum-5's readings of day 1, 01:00–02:00, arrive later still
  const later = (p: Point) => p.tags.luminaire === 'lum-5' && p.ts >= D0 + DAY_MS + 3_600_000 && p.ts < D0 + DAY_MS + 2 * 3_600_000;

  before(async () => {
    influx = await startInfluxDB();
    store = await openStore({ kind: 'influxdb1', url: influx.url, database: 'packbuilder' });
    const early = points.filter((p) => !late(p) && !later(p));
    for (let i = 0; i < early.length; i += 120) await store.write(early.slice(i, i + 120));
  });
  after(async () => {
    await store?.close();
    await influx?.stop();
  });

  const summed = () => store.energyCellStats?.().summedDays ?? Number.NaN;
  const range = { from: D0, to: D0 + 4 * DAY_MS };
  async function assertReport(reference: MemoryStore, q: { from: number; to: number; municipality?: string }) {
    const cells = await store.energyCells?.(q, baselineSourceOf(inventory));
    assert.ok(cells, 'whole days are answered from cells');
    assert.equal(cells.rows.length, 0, 'no municipality falls back to luminaire rows');
    assert.deepEqual(
      computeEnergyFromCells(cells, inventory, q),
      computeEnergy(await reference.luminaireEnergy(q), inventory, q),
      JSON.stringify(q),
    );
  }

  it('packs the closed days so that reads take no day from the hour rows; a late reading is read right and repacked', async () => {
    const registry = new Registry();
    const builder = startPackBuilder({ store, inventory, clock, options, registry, timer: false });
    const first = await builder.runPass();
    assert.equal(first.stale, 2 * 70 - 2, 'every closed day of both municipalities (the horizon starts 1 h into a day)');
    assert.equal(first.built, first.stale);
    assert.ok(first.windows >= 2, 'the 32-day windows of both municipalities were read for their blocks');
    const metrics = await registry.metrics();
    assert.match(metrics, /poste_cell_packs_built_days_total 138/);
    assert.match(metrics, /poste_cell_packs_pending_days 0/);

    const early = new MemoryStore();
    await early.write(points.filter((p) => !late(p) && !later(p)));
    const before = summed();
    for (const q of [range, { ...range, municipality: 'santarem' }, { from: D0 + DAY_MS, to: D0 + 3 * DAY_MS }])
      await assertReport(early, q);
    assert.equal(summed(), before, 'no day summed from the hour rows: every read came from packs');
    assert.equal((await builder.runPass()).stale, 0, 'a second pass finds nothing to do');

    // The late readings change day 2's mark: its pack is no longer used, the read sums that day.
    await store.write(points.filter(late));
    const withLate = new MemoryStore();
    await withLate.write(points.filter((p) => !later(p)));
    await assertReport(withLate, range);
    assert.equal(summed(), before + 1, 'only the changed day came from the hour rows');
    const repack = await builder.runPass();
    assert.deepEqual([repack.stale, repack.built], [0, 0], 'the read packed it already');

    // Same again, with the builder first this time.
    await store.write(points.filter(later));
    const all = new MemoryStore();
    await all.write(points);
    const third = await builder.runPass();
    assert.deepEqual([third.stale, third.built], [1, 1], 'the day whose mark changed is repacked');
    const after = summed();
    await assertReport(all, range);
    assert.equal(summed(), after, 'read from packs again');

    await builder.stop();
  });

  it('stops a pass between steps', async () => {
    // Other baselines: every day is stale under the new version.
    const other = parseInventory({
      municipalities: municipalities.map((m) => ({ ...m, defaultBaselineW: 180 })),
      gateways: {},
      luminaires: {},
    });
    const builder = startPackBuilder({ store, inventory: other, clock, options: { ...options, stepDays: 1, share: 0.01 }, timer: false });
    const pass = builder.runPass();
    const start = summed();
    while (summed() === start) await new Promise((r) => setTimeout(r, 5));
    await builder.stop();
    const report = await pass;
    assert.equal(report.stopped, true);
    assert.ok(report.built < report.stale, `stopped after ${report.built} of ${report.stale} days`);
    assert.equal(summed(), start + report.built, 'nothing summed after the stop');
  });
});
