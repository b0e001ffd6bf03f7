import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { MemoryStore } from '../memory/store';
import type { EnergyQuery, Point } from '../types';
import { BLOCK_SPANS, DAY_MS, DAY_TABLE, DayTier, SERIES_TABLE } from './day-tier';
import { EmbeddedStore } from './store';

const T0 = Date.UTC(2026, 4, 1);
const HOUR = 3_600_000;

/** Deterministic pseudo-random numbers (mulberry32): the same readings every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Four days of readings from six luminaires every 20 minutes, counters restarting now and then
 * (a controller reboot), the group changing on one of them: integer energy and dyadic lit hours,
 * so every sum is exact whatever order it is added in.
 */
function readings(): Point[] {
  const rnd = random(7);
  const out: Point[] = [];
  for (let l = 0; l < 6; l++) {
    let energy = 0;
    let lit = 0;
    for (let minute = 0; minute < 4 * 1440; minute += 20) {
      if (rnd() < 0.01) {
        energy = 0;
        lit = 0;
      }
      energy += Math.floor(rnd() * 50);
      lit += Math.floor(rnd() * 3) / 8;
      out.push({
        measurement: 'luminaire',
        tags: { municipality: l < 4 ? 'm1' : 'm2', gateway: `g${l % 2}`, luminaire: `L${l}`, group: l === 0 && minute > 2000 ? 'b' : 'a' },
        fields: { activeEnergy: energy, operatingHours: lit },
        ts: T0 + minute * 60_000,
      });
    }
  }
  return out;
}

/**
 * Block rows (span > 1) that differ from the sums of the day rows they cover, computed afresh from
 * the day rows, and blocks missing for days that have rows: empty when the tier is up to date.
 */
async function staleBlocks(conn: DuckDBConnection, offsetHours: number): Promise<unknown[]> {
  const tier = new DayTier(offsetHours);
  const wrong: unknown[] = [];
  for (const span of BLOCK_SPANS) {
    const block = tier.blockStartSql('day_start', span);
    const rows = (
      await conn.runAndReadAll(`SELECT coalesce(w.series, b.series) AS series, coalesce(w.block_start, b.day_start) AS block_start,
          w.readings AS want_readings, b.readings AS readings, w.d0 AS want_d0, b.d0 AS d0, w.d1 AS want_d1, b.d1 AS d1,
          w.first_ts AS want_first, b.first_ts AS first_ts, w.last_ts AS want_last, b.last_ts AS last_ts, w.grp AS want_grp, b.grp AS grp
        FROM (SELECT series, ${block} AS block_start, sum(readings) AS readings, sum(d0) AS d0, sum(d1) AS d1, min(first_ts) AS first_ts,
            max(last_ts) AS last_ts, arg_max(grp, last_ts) AS grp FROM ${DAY_TABLE} WHERE span = 1 GROUP BY ALL) w
        FULL JOIN (SELECT * FROM ${DAY_TABLE} WHERE span = ${span}) b ON w.series = b.series AND w.block_start = b.day_start
        WHERE w.readings IS DISTINCT FROM b.readings OR w.d0 IS DISTINCT FROM b.d0 OR w.d1 IS DISTINCT FROM b.d1
          OR w.first_ts IS DISTINCT FROM b.first_ts OR w.last_ts IS DISTINCT FROM b.last_ts OR w.grp IS DISTINCT FROM b.grp`)
    ).getRowObjectsJS();
    wrong.push(...rows.map((r) => ({ span, ...r })));
  }
  return wrong;
}

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const rnd = random(seed);
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

for (const offset of [-3, 0])
  test(`energy over ranges with whole days (day tier, UTC${offset}) equals the sums of every reading, after out-of-order writes, reopenings and late readings`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-day-tier-'));
    const path = join(dir, 'telemetry.duckdb');
    const all = readings();
    // Day 1's readings arrive last, after the later days were saved and the file reopened.
    const late = all.filter((p) => p.ts >= T0 + DAY_MS && p.ts < T0 + 2 * DAY_MS);
    const early = shuffled(
      all.filter((p) => !late.includes(p)),
      3,
    );
    const reference = new MemoryStore();
    await reference.write(all);
    try {
      const config = { kind: 'embedded', path, dayTierUtcOffsetHours: offset } as const;
      let store = new EmbeddedStore(config);
      await store.init();
      for (let i = 0; i < early.length; i += 97) await store.write(early.slice(i, i + 97));
      await store.close();
      store = new EmbeddedStore(config);
      await store.init();
      const lateShuffled = shuffled(late, 5);
      await store.write(lateShuffled.slice(0, 50));
      // A read in between saves the rows held: the days are refreshed twice.
      await store.luminaireEnergy({ from: T0, to: T0 + 4 * DAY_MS });
      await store.write(lateShuffled.slice(50));
      await store.write(lateShuffled.slice(0, 10)); // duplicates: no-ops

      const ranges: EnergyQuery[] = [
        { from: T0, to: T0 + 4 * DAY_MS },
        { from: T0 + DAY_MS, to: T0 + 2 * DAY_MS },
        { from: T0 + 10.5 * HOUR, to: T0 + 3 * DAY_MS + 5.25 * HOUR },
        { from: T0 + 23 * HOUR, to: T0 + DAY_MS + HOUR },
        { from: T0 + DAY_MS - 7 * 60_000, to: T0 + 3 * DAY_MS + 11 * 60_000 },
        { from: T0, to: T0 + 4 * DAY_MS, municipality: 'm1' },
        { from: T0 + 6 * HOUR, to: T0 + 3 * DAY_MS, gateway: 'g1' },
        // whole days at UTC−3 (03:00 UTC)
        { from: T0 + 3 * HOUR, to: T0 + 3 * DAY_MS + 3 * HOUR },
        { from: T0 + 3 * HOUR, to: T0 + DAY_MS + 3 * HOUR, municipality: 'm2' },
      ];
      for (const q of ranges) {
        const [got, want] = [await store.luminaireEnergy(q), await reference.luminaireEnergy(q)];
        assert.ok(want.length > 0);
        assert.deepEqual(got, want, `range ${JSON.stringify(q)}`);
      }
      await store.close();

      // The day rows are the sums of their hour rows, row by row; every block the sum of its days.
      const instance = await DuckDBInstance.create(path);
      const conn = await instance.connect();
      const days = (
        await conn.runAndReadAll(`SELECT s.luminaire, d.day_start, d.readings, d.d0, d.d1 FROM ${DAY_TABLE} d JOIN ${SERIES_TABLE} s ON s.id = d.series
        WHERE d.span = 1 ORDER BY 1, 2`)
      ).getRowObjectsJS();
      const fromHours = (
        await conn.runAndReadAll(`SELECT luminaire, hour_start - local % ${DAY_MS} AS day_start, sum(readings) AS readings, sum(d0) AS d0, sum(d1) AS d1
        FROM (SELECT *, hour_start + ${offset * HOUR} AS local FROM luminaire_hour) GROUP BY ALL ORDER BY luminaire, day_start`)
      ).getRowObjectsJS();
      const stale = await staleBlocks(conn, offset);
      const spans = (await conn.runAndReadAll(`SELECT DISTINCT span FROM ${DAY_TABLE} ORDER BY span`)).getRowObjectsJS();
      conn.closeSync();
      instance.closeSync();
      // Four UTC days are five days at UTC−3 (the first and the last in part).
      assert.equal(days.length, offset === 0 ? 6 * 4 : 6 * 5);
      assert.deepEqual(
        days.map((d) => [d.luminaire, d.day_start, d.readings, d.d0, d.d1]),
        fromHours.map((d) => [d.luminaire, d.day_start, d.readings, d.d0, d.d1]),
      );
      assert.deepEqual(stale, [], 'blocks that are not the sum of their days');
      assert.deepEqual(
        spans.map((s) => s.span),
        [1, ...BLOCK_SPANS],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

test('a file written before the day tier, with its first layout, or with another day offset, gets it built from its hour rows at open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-day-tier-'));
  const path = join(dir, 'telemetry.duckdb');
  try {
    let store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    await store.write(readings());
    await store.close();
    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    // The first layout: days keyed by the three names, no blocks, the offset in luminaire_day_meta.
    for (const t of [DAY_TABLE, SERIES_TABLE, 'luminaire_group_name', 'luminaire_day_layout']) await conn.run(`DROP TABLE ${t}`);
    await conn.run(`CREATE TABLE ${DAY_TABLE} (municipality VARCHAR NOT NULL, gateway VARCHAR NOT NULL, luminaire VARCHAR NOT NULL,
      day_start BIGINT NOT NULL, readings BIGINT NOT NULL, first_ts BIGINT NOT NULL, last_ts BIGINT NOT NULL, d0 DOUBLE, d1 DOUBLE, grp VARCHAR,
      PRIMARY KEY (municipality, gateway, luminaire, day_start))`);
    await conn.run(`CREATE TABLE luminaire_day_meta (utc_offset_ms BIGINT NOT NULL); INSERT INTO luminaire_day_meta VALUES (${-3 * HOUR})`);
    conn.closeSync();
    instance.closeSync();
    const reference = new MemoryStore();
    await reference.write(readings());
    for (const offset of [-3, 0, -4]) {
      store = new EmbeddedStore({ kind: 'embedded', path, dayTierUtcOffsetHours: offset });
      await store.init();
      for (const q of [
        { from: T0, to: T0 + 4 * DAY_MS },
        { from: T0 + 4 * HOUR, to: T0 + 2 * DAY_MS + 4 * HOUR },
      ])
        assert.deepEqual(await store.luminaireEnergy(q), await reference.luminaireEnergy(q), `UTC${offset} ${JSON.stringify(q)}`);
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
