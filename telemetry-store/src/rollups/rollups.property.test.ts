// Property: whatever the arrival order, batching and duplication, every store's maintained hourly
// rollups equal a recomputation from the raw readings (rows.ts's reduceHour over each series in ts
// order), compared unrounded; resets and hour-crossing deltas included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EmbeddedStore } from '../embedded/store';
import { MemoryStore } from '../memory/store';
import type { TelemetryStore } from '../types';
import { rowsFromReadings } from './reference';
import { type ApRow, HOUR_MS, type LuminaireRow, toApHour, toLuminaireHour } from './rows';
import { readingToPoint, T0 } from '../testing/rollup-readings';

/** Readings of a few devices over ~5 hours: one value per (device, minute, kind) — a second one would be a conflict. */
const readings = fc
  .uniqueArray(
    fc.record({
      device: fc.integer({ min: 0, max: 2 }),
      minute: fc.integer({ min: 0, max: 300 }),
      // small values make drops (counter resets) frequent
      value: fc.integer({ min: 0, max: 60 }),
      kind: fc.constantFrom<'luminaire' | 'ap'>('luminaire', 'ap'),
    }),
    { minLength: 1, maxLength: 40, selector: (r) => `${r.kind}/${r.device}/${r.minute}` },
  )
  .chain((rs) =>
    fc.record({
      rs: fc.constant(rs),
      order: fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length }),
      batch: fc.integer({ min: 1, max: 7 }),
      duplicates: fc.subarray(rs, { maxLength: Math.min(6, rs.length) }),
    }),
  );

async function check(open: () => Promise<TelemetryStore & { close(): Promise<void> }>, runs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(readings, async ({ rs, order, batch, duplicates }) => {
      const store = await open();
      try {
        // arrival: shuffled, in batches, identical copies replayed in between
        const arrival = [...order, ...duplicates].map(readingToPoint);
        for (let i = 0; i < arrival.length; i += batch) await store.write(arrival.slice(i, i + batch));
        const points = rs.map(readingToPoint);
        const q = { from: T0 - HOUR_MS, to: T0 + 10 * HOUR_MS };
        assert.deepEqual(await store.luminaireHours(q), (rowsFromReadings('luminaire', points) as LuminaireRow[]).map(toLuminaireHour));
        assert.deepEqual(await store.apHours(q), (rowsFromReadings('ap', points) as ApRow[]).map(toApHour));
      } finally {
        await store.close();
      }
    }),
    { numRuns: runs },
  );
}

test('memory store: rollups equal the raw recomputation under any arrival order, batching and replay', async () => {
  await check(async () => {
    const s = new MemoryStore();
    await s.init();
    return s;
  }, 200);
});

test('embedded store: rollups equal the raw recomputation under any arrival order, batching and replay', async () => {
  await check(async () => {
    const s = new EmbeddedStore({ kind: 'embedded', path: ':memory:' });
    await s.init();
    return s;
  }, 25);
});
