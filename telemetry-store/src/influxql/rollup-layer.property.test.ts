// Property: with two store writes under way at once (as ingest writes), whatever order influxd
// applies the overlapping requests in, whichever requests fail (before or after influxd applied
// them) or are only partly written, once every failed batch has been resent and everything has
// settled the InfluxDB rollup rows equal a recomputation from the raw points actually stored.
// Not covered: a partial write that drops every reading of a series-hour leaves that hour's row
// standing (a repair writes no row for an hour with no reading, and cannot delete one); see
// Limits in ../influxdb1/README.md.
// influxd is played by InfluxQLModel (write merge semantics and the layer's InfluxQL subset); the
// order in which requests are applied and answered is fast-check's scheduler's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PartialWriteError, StoreWriteError } from '../errors';
import { rowsFromReadings } from '../rollups/reference';
import { type ApRow, HOUR_MS, type LuminaireRow, toApHour, toLuminaireHour } from '../rollups/rows';
import type { Point } from '../types';
import { readingToPoint, T0 } from '../testing/rollup-readings';
import { InfluxQLModel } from './influxql-model';
import { type InfluxPoint, InfluxRollupLayer } from './rollup-layer';

/**
 * What influxd does with one request: apply it, refuse it unapplied, apply it and lose the answer
 * (a timeout), or drop the first raw point and apply the rest (a partial write).
 */
type Outcome = 'ok' | 'refused' | 'lostAnswer' | 'partial';

const scenario = fc
  .uniqueArray(
    fc.record({
      device: fc.integer({ min: 0, max: 2 }),
      // mostly in order (live readings) with backlogs: ~4 hours
      minute: fc.integer({ min: 0, max: 240 }),
      // small values make drops (counter resets) frequent
      value: fc.integer({ min: 0, max: 40 }),
      kind: fc.constantFrom<'luminaire' | 'ap'>('luminaire', 'luminaire', 'ap'),
    }),
    { minLength: 1, maxLength: 45, selector: (r) => `${r.kind}/${r.device}/${r.minute}` },
  )
  .chain((rs) =>
    fc.record({
      // in ts order, then some readings moved later (a backlog arriving after live data)
      order: fc.oneof(
        fc.constant([...rs].sort((a, b) => a.minute - b.minute)),
        fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length }),
      ),
      batch: fc.integer({ min: 1, max: 6 }),
      duplicates: fc.subarray(rs, { maxLength: Math.min(5, rs.length) }),
      outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'refused', 'lostAnswer'), { maxLength: 25 }),
      scheduler: fc.scheduler(),
      // writes under way at once (and as many ingest writers): from 3 on, rows of several writes
      // wait behind one rows request and go together (the layer's queueRows)
      inFlight: fc.integer({ min: 2, max: 4 }),
    }),
  );

async function storedPoints(model: InfluxQLModel, m: 'luminaire' | 'ap'): Promise<Point[]> {
  return model.points(m).map((p) => ({ measurement: m, tags: p.tags, fields: p.fields, ts: p.ts }));
}

test('InfluxDB rollups equal the raw points stored, with two to four writes in flight, reordered, failed and partial requests', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ order, batch, duplicates, outcomes, scheduler, inFlight }) => {
      const model = new InfluxQLModel();
      let requests = 0;
      const send = async (points: readonly InfluxPoint[]) => {
        const outcome = outcomes[requests++] ?? 'ok';
        // influxd applies concurrent requests in any order...
        await scheduler.schedule(Promise.resolve(), 'apply');
        if (outcome === 'refused') throw new StoreWriteError('injected: HTTP 503', true, points.length);
        if (outcome === 'partial') {
          const dropped = points.findIndex((p) => p.measurement === 'luminaire' || p.measurement === 'ap');
          if (dropped >= 0) {
            model.write(points.filter((_, i) => i !== dropped));
            throw new PartialWriteError('injected: partial write', { written: points.length - 1, refused: 1 });
          }
        }
        model.write(points);
        // ...and its answer comes back later still, or never (a timeout after the write was applied)
        await scheduler.schedule(Promise.resolve(), 'answer');
        if (outcome === 'lostAnswer') throw new StoreWriteError('injected: timeout', true, points.length);
      };
      const layer = new InfluxRollupLayer(async (q) => model.query(q), send, { writesInFlight: inFlight, flushIntervalMs: 0 });
      // Ingest: `inFlight` writes under way; a retryable failure is written again later (its retry), a
      // partial write is settled (the refused points are dead-lettered, never resent).
      const queue: Point[][] = [];
      const arrival = [...order, ...duplicates].map(readingToPoint);
      for (let i = 0; i < arrival.length; i += batch) queue.push(arrival.slice(i, i + batch));
      const writer = async () => {
        for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
          try {
            await layer.write(b);
          } catch (err) {
            if (!(err instanceof StoreWriteError)) throw err;
            if (!(err instanceof PartialWriteError)) queue.push(b);
          }
        }
      };
      await scheduler.waitFor(Promise.all(Array.from({ length: inFlight }, writer)));
      // A repair whose own request failed is retried (the injected failures run out).
      for (let repaired = false; !repaired; ) {
        repaired = await scheduler.waitFor(
          layer.settled().then(
            () => true,
            () => false,
          ),
        );
      }
      const q = { from: T0 - HOUR_MS, to: T0 + 10 * HOUR_MS };
      await scheduler.waitFor(layer.beforeRead());
      assert.deepEqual(
        await layer.luminaireHours(q),
        (rowsFromReadings('luminaire', await storedPoints(model, 'luminaire')) as LuminaireRow[]).map(toLuminaireHour),
      );
      assert.deepEqual(await layer.apHours(q), (rowsFromReadings('ap', await storedPoints(model, 'ap')) as ApRow[]).map(toApHour));
    }),
    { numRuns: 300 },
  );
});
