// The InfluxDB savings cells (cell-tier.ts) on a real influxd 1.6: per gateway and per group, the
// sums equal those of the luminaire rows (memory store) under counter resets, duplicates and late
// readings; a stale pack, a pack of other baselines or a municipality whose membership changed is
// never served from the tier, whether packed as a day or in a block of days.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MemoryStore } from '../memory/store';
import { createTestDatabase } from '../testing/influx-database';
import { startInfluxDB, type RunningInfluxDB } from '../testing/influxd';
import type { BaselineSource, CellSums, EnergyCellQuery, EnergyCells, LuminaireEnergy, Point } from '../types';
import { InfluxCellTier } from './cell-tier';
import { InfluxDayTier, TIER_DAY_OFFSET_MS } from './day-tier';
import { InfluxRollupLayer } from './rollup-layer';

const DAY_MS = 86_400_000;
const D0 = Date.UTC(2026, 4, 1) + TIER_DAY_OFFSET_MS;
let influx: RunningInfluxDB;

before(async () => {
  influx = await startInfluxDB();
});
after(async () => {
  await influx.stop();
});

async function storeOn(db: string) {
  const { run, send } = await createTestDatabase(influx.url, db);
  const dayTier = new InfluxDayTier(run, send);
  const layer = new InfluxRollupLayer(run, send, { flushIntervalMs: 0, onRowsWritten: dayTier.rowsWritten });
  const energy = async (q: { from: number; to: number; municipality: string }) =>
    dayTier.luminaireEnergy(q, (hq) => layer.luminaireEnergy(hq));
  const tier = new InfluxCellTier(run, send, energy);
  return {
    tier,
    layer,
    async cells(q: EnergyCellQuery, b: BaselineSource) {
      await layer.beforeRead();
      return tier.energyCells(q, b);
    },
  };
}

/** Baselines: 170 W by default, 250 W in 'n', luminaire L3 400 W; 'x' not in the inventory. */
function baselines(overrides: Record<string, number> = { L3: 400 }, version = 'v1'): BaselineSource {
  const defaults: Record<string, number> = { m: 170, n: 250 };
  return {
    version,
    assigns: (m) => defaults[m] !== undefined,
    wattsOf: (m, l) => overrides[l] ?? defaults[m],
  };
}

/**
 * Readings every 20 min over 3 tier days (and 2 h before) of 6 luminaires of 'm' (two gateways),
 * 2 of 'n' and 1 of 'x': integer Wh and quarter hours, so every sum is exact in binary. L2's meter
 * restarts on day 1; with `groupChange`, L4 moves to group b on day 2.
 */
function readings(opts: { groupChange?: boolean } = {}): Point[] {
  const out: Point[] = [];
  // Lit half of each day: operating hours rise by 20 min per lit reading.
  let litSteps = 0;
  for (let ts = D0 - 2 * 3_600_000, k = 0; ts < D0 + 3 * DAY_MS; ts += 20 * 60_000, k++) {
    if (k % 72 < 36) litSteps++;
    for (let l = 0; l < 9; l++) {
      const municipality = l < 6 ? 'm' : l < 8 ? 'n' : 'x';
      const reset = l === 2 && k >= 93;
      out.push({
        measurement: 'luminaire',
        tags: {
          municipality,
          gateway: `${municipality}-g${l % 2}`,
          luminaire: `L${l}`,
          group: opts.groupChange && l === 4 && ts >= D0 + 2 * DAY_MS ? 'b' : `a${l % 3}`,
        },
        fields: { activeEnergy: reset ? (k - 93) * 3 : 1_000 * l + k * (5 + l), operatingHours: 10 + litSteps * 0.25, status: 'ok' },
        ts,
      });
    }
  }
  return out;
}

/** What the dashboard would sum from the luminaire rows: per gateway and per group of each assigned municipality. */
async function reference(
  points: readonly Point[],
  q: EnergyCellQuery,
  b: BaselineSource,
): Promise<{ byGateway: string[]; byGroup: string[]; rows: LuminaireEnergy[] }> {
  const memory = new MemoryStore();
  await memory.write(points);
  const rows = await memory.luminaireEnergy(q);
  const gw = new Map<string, CellSums>();
  const gr = new Map<string, CellSums>();
  const at = (map: Map<string, CellSums>, k: string) => {
    const s = map.get(k) ?? { luminaires: 0, energyWh: 0, litHours: 0, baselineW: 0, baselineWh: 0 };
    map.set(k, s);
    return s;
  };
  for (const r of rows) {
    if (!b.assigns(r.municipality)) continue;
    const w = b.wattsOf(r.municipality, r.luminaire)!;
    for (const s of [at(gw, `${r.municipality}|${r.gateway}`), at(gr, `${r.municipality}|${r.group}`)]) {
      s.luminaires += 1;
      s.energyWh += r.energyWh;
      s.litHours += r.litHours;
      s.baselineW += w;
      s.baselineWh += w * r.litHours;
    }
  }
  const show = (map: Map<string, CellSums>) => [...map].map(([k, s]) => `${k} ${JSON.stringify(s)}`).sort();
  return { byGateway: show(gw), byGroup: show(gr), rows: rows.filter((r) => !b.assigns(r.municipality)) };
}

function shown(c: EnergyCells | undefined) {
  assert.ok(c, 'the tier answers a range of whole days');
  const show = (list: Array<CellSums & { municipality: string }>, key: 'gateway' | 'group') =>
    list
      .map((x) => {
        const { municipality, luminaires, energyWh, litHours, baselineW, baselineWh } = x;
        const id = (x as unknown as Record<string, string>)[key];
        return `${municipality}|${id} ${JSON.stringify({ luminaires, energyWh, litHours, baselineW, baselineWh })}`;
      })
      .sort();
  return { byGateway: show(c.byGateway, 'gateway'), byGroup: show(c.byGroup, 'group'), rows: c.rows };
}

const ALL_DAYS = { from: D0, to: D0 + 3 * DAY_MS };

test('cells equal the luminaire rows summed, first from the hour rollups, then from packs; unassigned municipalities come back as rows', async () => {
  const s = await storeOn('cells_equal');
  const points = readings();
  for (let i = 0; i < points.length; i += 50) await s.layer.write(points.slice(i, i + 50));
  await s.layer.write(points.slice(100, 150)); // a resent batch
  const b = baselines();
  for (const q of [ALL_DAYS, { ...ALL_DAYS, municipality: 'm' }]) {
    const expected = await reference(points, q, b);
    assert.deepEqual(shown(await s.cells(q, b)), expected);
    await s.tier.packsSettled();
    const packDays = s.tier.stats.packDays;
    assert.deepEqual(shown(await s.cells(q, b)), expected, 'from packs');
    assert.ok(s.tier.stats.packDays > packDays);
    // The first read also packed the two-day block [D0, D0 + 2 d) (aligned on the tier's day 0).
    await s.tier.packsSettled();
    const blocksRead = s.tier.stats.blocksRead;
    assert.deepEqual(shown(await s.cells(q, b)), expected, 'from a block and a day');
    assert.ok(s.tier.stats.blocksRead > blocksRead, 'a block of days was read');
  }
  assert.ok(s.tier.stats.blocksWritten >= 2);
  assert.ok(s.tier.stats.rowMunicipalities > 0, "'x' (not in the inventory) came back as rows");
  assert.equal(await s.cells({ from: D0 + 3_600_000, to: D0 + DAY_MS }, b), undefined, 'a partial day is not the tier’s');
});

test('a late reading, new baselines and a group change are never answered from a pack', async () => {
  const s = await storeOn('cells_stale');
  const points = readings();
  const late = (p: Point) => p.tags.luminaire === 'L1' && p.ts >= D0 + DAY_MS + 10 * 3_600_000 && p.ts < D0 + DAY_MS + 11 * 3_600_000;
  await s.layer.write(points.filter((p) => !late(p)));
  const q = { ...ALL_DAYS, municipality: 'm' };
  const b = baselines();
  await s.cells(q, b);
  await s.tier.packsSettled();

  // A late reading read as a meter restart changes day 1's sums.
  const lateOnes = points.filter(late).map((p, i) => (i === 1 ? { ...p, fields: { ...p.fields, activeEnergy: 7 } } : p));
  await s.layer.write(lateOnes);
  const all = [...points.filter((p) => !late(p)), ...lateOnes];
  const summed = s.tier.stats.summedDays;
  const blocksRead = s.tier.stats.blocksRead;
  assert.ok(s.tier.stats.blocksWritten > 0, 'day 1 is in a packed block');
  assert.deepEqual(shown(await s.cells(q, b)), await reference(all, q, b), 'not the stale pack');
  assert.equal(s.tier.stats.blocksRead, blocksRead, 'nor the stale block');
  assert.equal(s.tier.stats.summedDays, summed + 1, 'day 1 summed again');
  await s.tier.packsSettled();

  // Other baselines: L3 at 300 W. The packs of v1 are not read; every day is summed again.
  const b2 = baselines({ L3: 300 }, 'v2');
  assert.deepEqual(shown(await s.cells(q, b2)), await reference(all, q, b2));
  assert.equal(s.tier.stats.summedDays, summed + 4);

  // L4 changes group on day 2: over the three days, 'm' comes back as luminaire rows.
  const s2 = await storeOn('cells_group');
  const moved = readings({ groupChange: true });
  await s2.layer.write(moved);
  const c = await s2.cells(q, b);
  assert.ok(c);
  assert.equal(c.byGateway.length + c.byGroup.length, 0);
  const memory = new MemoryStore();
  await memory.write(moved);
  assert.deepEqual(c.rows, await memory.luminaireEnergy(q));
  assert.equal(s2.tier.stats.rowMunicipalities, 1);
  // Over days 0–1 only, the membership is stable: cells.
  const q01 = { from: D0, to: D0 + 2 * DAY_MS, municipality: 'm' };
  assert.deepEqual(shown(await s2.cells(q01, b)), await reference(moved, q01, b));
});

test('a municipality written on a day the programme packs did not list is summed, not left out', async () => {
  const s = await storeOn('cells_directory');
  const points = readings().filter((p) => p.tags.municipality !== 'n' || p.ts < D0 + DAY_MS);
  await s.layer.write(points);
  const b = baselines();
  await s.cells(ALL_DAYS, b);
  await s.tier.packsSettled();
  const more = readings().filter((p) => p.tags.municipality === 'n' && p.ts >= D0 + DAY_MS);
  await s.layer.write(more);
  assert.deepEqual(shown(await s.cells(ALL_DAYS, b)), await reference([...points, ...more], ALL_DAYS, b));
});
