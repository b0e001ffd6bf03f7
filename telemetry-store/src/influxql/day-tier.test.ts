// The InfluxDB day tier (day-tier.ts) on a real influxd 1.6: the energy of whole days read from
// municipality-day packs equals what the hour rollups and the memory store give, unrounded, under
// counter resets, duplicates and late readings; a pack whose day was written since (or whose rows
// are still pending) is never served — the day is read from the hour rows instead.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MemoryStore } from '../memory/store';
import { createTestDatabase } from '../testing/influx-database';
import { startInfluxDB, type RunningInfluxDB } from '../testing/influxd';
import type { EnergyQuery, LuminaireEnergy, Point } from '../types';
import { DAY_PACK_MEASUREMENT, InfluxDayTier, TIER_DAY_OFFSET_MS } from './day-tier';
import { InfluxRollupLayer } from './rollup-layer';

const DAY_MS = 86_400_000;
/** A tier day's start (03:00 UTC). */
const D0 = Date.UTC(2026, 4, 1) + TIER_DAY_OFFSET_MS;
let influx: RunningInfluxDB;

before(async () => {
  influx = await startInfluxDB();
});
after(async () => {
  await influx.stop();
});

function database(db: string) {
  return createTestDatabase(influx.url, db);
}

/** A writer (rollup layer feeding the tier's marks) and a reader through the tier, as one store has them. */
function storeOn(run: Awaited<ReturnType<typeof database>>['run'], send: Awaited<ReturnType<typeof database>>['send']) {
  const tier = new InfluxDayTier(run, send);
  const layer = new InfluxRollupLayer(run, send, { flushIntervalMs: 0, onRowsWritten: tier.rowsWritten });
  return {
    tier,
    layer,
    async energy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
      await layer.beforeRead();
      return tier.luminaireEnergy(q, (hq) => layer.luminaireEnergy(hq));
    },
  };
}

/**
 * Readings every 20 min from 2 h before D0 to 3 days after, of 6 luminaires of 'm' on two gateways
 * and 1 of 'other'. Values are integers and quarter hours (exact in binary, so sums in any order
 * are equal); luminaire 2's meter restarts from zero on day 1, luminaire 4 changes group on day 2.
 */
function readings(): Point[] {
  const out: Point[] = [];
  for (let ts = D0 - 2 * 3_600_000, k = 0; ts < D0 + 3 * DAY_MS; ts += 20 * 60_000, k++) {
    for (let l = 0; l < 7; l++) {
      const municipality = l === 6 ? 'other' : 'm';
      const reset = l === 2 && ts >= D0 + DAY_MS + 5 * 3_600_000;
      out.push({
        measurement: 'luminaire',
        tags: {
          municipality,
          gateway: `${municipality}-g${l % 2}`,
          luminaire: `L${l}`,
          group: l === 4 && ts >= D0 + 2 * DAY_MS ? 'b' : 'a',
        },
        // k = 93 is D0 + 1 day + 5 h: the restarted meter counts from 0 there.
        fields: { activeEnergy: reset ? (k - 93) * 3 : 1_000 * l + k * (5 + l), operatingHours: 10 + k * 0.25, status: 'ok' },
        ts,
      });
    }
  }
  return out;
}

/** The same points in batches of `size`, shuffled deterministically, some sent twice. */
function batches(points: readonly Point[], size: number): Point[][] {
  const shuffled = [...points].sort(
    (a, b) => ((a.ts * 7919 + a.tags.luminaire!.charCodeAt(1)) % 97) - ((b.ts * 7919 + b.tags.luminaire!.charCodeAt(1)) % 97),
  );
  const out: Point[][] = [];
  for (let i = 0; i < shuffled.length; i += size) out.push(shuffled.slice(i, i + size));
  return [...out, out[1]!, out[3]!];
}

async function reference(points: readonly Point[], q: EnergyQuery): Promise<LuminaireEnergy[]> {
  const memory = new MemoryStore();
  await memory.write(points);
  return memory.luminaireEnergy(q);
}

const WHOLE_DAYS: EnergyQuery = { municipality: 'm', from: D0, to: D0 + 3 * DAY_MS };
const WITH_EDGES: EnergyQuery = {
  municipality: 'm',
  from: D0 + 5 * 3_600_000 + 10 * 60_000,
  to: D0 + 2 * DAY_MS + 7 * 3_600_000 + 30 * 60_000,
};

test('whole days come from packs once written, equal to the hour rollups and the memory store, edges included', async () => {
  const { run, send } = await database('tier_equal');
  const s = storeOn(run, send);
  const points = readings();
  for (const b of batches(points, 40)) await s.layer.write(b).catch((err: unknown) => assert.match(String(err), /duplicate|refused/i));

  for (const q of [WHOLE_DAYS, WITH_EDGES]) {
    const expected = await reference(points, q);
    assert.deepEqual(await s.layer.luminaireEnergy(q), expected, 'hour path equals the memory store');
    const first = await s.energy(q);
    assert.deepEqual(first, expected, 'first read (from the hour rows, packing the days)');
    await s.tier.packsSettled();
    const packDaysBefore = s.tier.stats.packDays;
    assert.deepEqual(await s.energy(q), expected, 'read from packs');
    assert.ok(s.tier.stats.packDays > packDaysBefore, 'the second read used packs');
  }
  assert.equal(s.tier.stats.packsWritten, 3, 'one pack per municipality-day of m');
  const packs = await run(`SELECT count("rows") FROM "${DAY_PACK_MEASUREMENT}" WHERE "municipality" = 'other'`);
  assert.equal(packs.length, 0, 'no pack for a municipality nobody asked for');
});

test('a late reading makes its day stale: the pack is not served, the answer is the new one, and a new pack follows', async () => {
  const { run, send } = await database('tier_late');
  const s = storeOn(run, send);
  const points = readings();
  // Day 1's readings of L1 between 10:00 and 11:00 local are held back and arrive after the packs.
  const late = (p: Point) => p.tags.luminaire === 'L1' && p.ts >= D0 + DAY_MS + 10 * 3_600_000 && p.ts < D0 + DAY_MS + 11 * 3_600_000;
  await s.layer.write(points.filter((p) => !late(p)));
  const before = await s.energy(WHOLE_DAYS);
  await s.tier.packsSettled();
  assert.deepEqual(await s.energy(WHOLE_DAYS), before);
  const fromPacks = s.tier.stats.packDays;
  assert.equal(fromPacks, 3);

  // A late reading that is lower than the one before it reads as a meter restart: the sum grows.
  const lateOnes = points.filter(late).map((p, i) => (i === 1 ? { ...p, fields: { ...p.fields, activeEnergy: 7 } } : p));
  await s.layer.write(lateOnes);
  const all = [...points.filter((p) => !late(p)), ...lateOnes];
  const expected = await reference(all, WHOLE_DAYS);
  assert.notDeepEqual(expected, before, 'the late readings change the answer');
  const hourDays = s.tier.stats.hourDays;
  assert.deepEqual(await s.energy(WHOLE_DAYS), expected, 'not the stale pack');
  assert.equal(s.tier.stats.hourDays, hourDays + 1, 'the day written since was read from the hour rows');
  assert.equal(s.tier.stats.packDays, fromPacks + 2, 'the other two days still from packs');
  await s.tier.packsSettled();
  assert.deepEqual(await s.energy(WHOLE_DAYS), expected, 'from the new pack');
  assert.equal(s.tier.stats.packDays, fromPacks + 5);
});

test('rows still pending in another writer keep their day out of the tier until they are written', async () => {
  const { run, send } = await database('tier_pending');
  const reader = storeOn(run, send);
  const points = readings();
  await reader.layer.write(points);
  await reader.energy(WHOLE_DAYS);
  await reader.tier.packsSettled();

  // Another process's writer: its raw points (with their pending marks) are stored, its rows not yet.
  const writer = storeOn(run, send);
  const extra: Point[] = [
    {
      measurement: 'luminaire',
      tags: { municipality: 'm', gateway: 'm-g0', luminaire: 'L8', group: 'a' },
      fields: { activeEnergy: 5, operatingHours: 1 },
      ts: D0 + 2 * DAY_MS + 3_600_000,
    },
    {
      measurement: 'luminaire',
      tags: { municipality: 'm', gateway: 'm-g0', luminaire: 'L8', group: 'a' },
      fields: { activeEnergy: 9, operatingHours: 2 },
      ts: D0 + 2 * DAY_MS + 3_600_000 + 60_000,
    },
  ];
  await writer.layer.write(extra);
  const hourDays = reader.tier.stats.hourDays;
  const packsWritten = reader.tier.stats.packsWritten;
  await reader.energy(WHOLE_DAYS);
  assert.equal(reader.tier.stats.hourDays, hourDays + 1, 'the pending day is read from the hour rows');
  await reader.tier.packsSettled();
  assert.equal(reader.tier.stats.packsWritten, packsWritten, 'and not packed while its rows are pending');

  await writer.layer.flush();
  const expected = await reference([...points, ...extra], WHOLE_DAYS);
  assert.deepEqual(await reader.energy(WHOLE_DAYS), expected);
  assert.ok(expected.some((r) => r.luminaire === 'L8' && r.energyWh === 4));
});
