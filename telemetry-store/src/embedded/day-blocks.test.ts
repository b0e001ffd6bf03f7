// The day tier's power-of-two blocks (day-tier.ts): how a range is cut into them, that reads over
// long ranges equal the memory store's after late readings, and that a stale block is caught.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { MemoryStore } from '../memory/store';
import type { EnergyQuery, Point } from '../types';
import { DAY_MS, DAY_TABLE, DayTier, MAX_SPAN_DAYS } from './day-tier';
import { EmbeddedStore } from './store';

const HOUR = 3_600_000;
/** 2026-01-01 03:00 UTC: midnight at UTC−3, the store's default tier offset */
const T0 = Date.UTC(2026, 0, 1, 3);
const DAYS = 70;

test('a range of whole tier days is cut into aligned power-of-two blocks that tile it, at most two per span', () => {
  for (const offset of [-3, 0, 5]) {
    const tier = new DayTier(offset);
    const origin = tier.startOf(Date.UTC(2026, 2, 7, 12));
    for (let a = 0; a < 70; a++)
      for (let len = 1; len <= 200; len += a % 7 === 0 ? 1 : 13) {
        const first = origin + a * DAY_MS;
        const last = first + len * DAY_MS;
        const parts = tier.parts(first, last);
        let at = first;
        const perSpan = new Map<number, number>();
        for (const p of parts) {
          assert.equal(p.start, at, `parts of [${a}, ${a + len}) tile the range`);
          const index = Math.round((p.start + tier.offsetMs) / DAY_MS);
          assert.equal(index % p.span, 0, `a ${p.span}-day block starts on a multiple of ${p.span} days`);
          assert.ok(p.span >= 1 && p.span <= MAX_SPAN_DAYS && Number.isInteger(Math.log2(p.span)));
          perSpan.set(p.span, (perSpan.get(p.span) ?? 0) + 1);
          at += p.span * DAY_MS;
        }
        assert.equal(at, last);
        for (const [span, count] of perSpan)
          if (span < MAX_SPAN_DAYS) assert.ok(count <= 2, `${count} blocks of ${span} days for [${a}, ${a + len})`);
        if (len <= 30) assert.ok(parts.length <= 8, `${parts.length} parts for ${len} days`);
      }
  }
});

/** Three luminaires reading every two hours for DAYS days (integer energy, dyadic lit hours: exact sums in any order). */
function readings(): Point[] {
  const out: Point[] = [];
  for (let l = 0; l < 3; l++)
    for (let k = 0; k < DAYS * 12; k++)
      out.push({
        measurement: 'luminaire',
        tags: { municipality: l < 2 ? 'm1' : 'm2', gateway: `g${l}`, luminaire: `L${l}`, group: l === 1 && k > 400 ? 'late' : 'a' },
        // Luminaire 2's meter restarts on day 30.
        fields: { activeEnergy: l === 2 && k >= 360 ? (k - 360) * 7 : k * (10 + l), operatingHours: k * 0.5 },
        ts: T0 + k * 2 * HOUR + l * 60_000,
      });
  return out;
}

function ranges(): EnergyQuery[] {
  const out: EnergyQuery[] = [];
  for (const [a, len] of [
    [0, 70],
    [0, 30],
    [3, 30],
    [31, 30],
    [17, 47],
    [40, 1],
    [63, 2],
    [1, 64],
  ] as const)
    out.push({ from: T0 + a * DAY_MS, to: T0 + (a + len) * DAY_MS });
  out.push({ from: T0 + 5 * DAY_MS + 7 * HOUR, to: T0 + 50 * DAY_MS + 2 * HOUR, municipality: 'm1' });
  out.push({ from: T0 + 2 * DAY_MS, to: T0 + 66 * DAY_MS, gateway: 'g2' });
  return out;
}

test('energy over ranges read from the blocks equals every reading summed, after late readings into saved days; a stale block is caught', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-day-blocks-'));
  const path = join(dir, 'telemetry.duckdb');
  const all = readings();
  // Days 20–24 arrive after everything else was saved and the file reopened.
  const late = all.filter((p) => p.ts >= T0 + 20 * DAY_MS && p.ts < T0 + 25 * DAY_MS);
  const early = all.filter((p) => !late.includes(p));
  const reference = new MemoryStore();
  await reference.write(all);
  try {
    let store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    for (let i = 0; i < early.length; i += 500) await store.write(early.slice(i, i + 500));
    await store.close();
    store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    // Read once before the late days: the name cache and the blocks without them.
    await store.luminaireEnergy({ from: T0, to: T0 + DAYS * DAY_MS });
    await store.write(late.filter((_, i) => i % 2 === 1));
    await store.luminaireEnergy({ from: T0, to: T0 + DAYS * DAY_MS });
    await store.write(late.filter((_, i) => i % 2 === 0));
    // A luminaire first seen now: a new series id after the cache was filled.
    const newcomer: Point = { ...all[0]!, tags: { ...all[0]!.tags, luminaire: 'L9' }, ts: T0 + 22 * DAY_MS };
    await store.write([newcomer]);
    await reference.write([newcomer]);
    for (const q of ranges()) assert.deepEqual(await store.luminaireEnergy(q), await reference.luminaireEnergy(q), JSON.stringify(q));
    await store.close();

    // A 16-day block made stale behind the store's back: the reads that use it go wrong, so the
    // comparisons above would catch a block the saves left stale.
    const q = { from: T0, to: T0 + 64 * DAY_MS };
    const block = new DayTier(-3).parts(q.from, q.to).find((p) => p.span === 16);
    assert.ok(block, 'the 64 days read a 16-day block');
    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    await conn.run(`UPDATE ${DAY_TABLE} SET d0 = d0 + 1 WHERE span = 16 AND day_start = ${block.start}`);
    conn.closeSync();
    instance.closeSync();
    store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    const [got, want] = [await store.luminaireEnergy(q), await reference.luminaireEnergy(q)];
    await store.close();
    assert.deepEqual(
      got.map((r) => r.energyWh - (want.find((w) => w.luminaire === r.luminaire)?.energyWh ?? Number.NaN)),
      [1, 1, 1, 1],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
