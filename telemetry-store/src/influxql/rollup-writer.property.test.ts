// Property: the coalesced rollup rows survive a crash. A writer sends raw points (two to four
// requests in flight, some failing, some applied with their answer lost), its dirty rows are
// flushed at moments of the scheduler's choosing, and at one of them the process dies: no request
// is sent after that, those under way may or may not have been applied. A writer opened afterwards
// on the same data repairs from the durable marks, and its rollup rows then equal a recomputation
// from the raw points actually stored — and stay equal after more writes (the watermark it wrote
// does not hide anything from the open after it).
// influxd is played by InfluxQLModel; the order of everything is fast-check's scheduler's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { StoreWriteError } from '../errors';
import { rowsFromReadings } from '../rollups/reference';
import { type ApRow, HOUR_MS, type LuminaireRow, toApHour, toLuminaireHour } from '../rollups/rows';
import { readingToPoint, T0 } from '../testing/rollup-readings';
import type { Point } from '../types';
import { InfluxQLModel } from './influxql-model';
import { type InfluxPoint, InfluxRollupLayer } from './rollup-layer';

type Outcome = 'ok' | 'refused' | 'lostAnswer';

const scenario = fc
  .uniqueArray(
    fc.record({
      device: fc.integer({ min: 0, max: 2 }),
      minute: fc.integer({ min: 0, max: 240 }),
      value: fc.integer({ min: 0, max: 40 }),
      kind: fc.constantFrom<'luminaire' | 'ap'>('luminaire', 'luminaire', 'ap'),
    }),
    { minLength: 1, maxLength: 40, selector: (r) => `${r.kind}/${r.device}/${r.minute}` },
  )
  .chain((rs) =>
    fc.record({
      order: fc.oneof(
        fc.constant([...rs].sort((a, b) => a.minute - b.minute)),
        fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length }),
      ),
      batch: fc.integer({ min: 1, max: 6 }),
      outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'refused', 'lostAnswer'), { maxLength: 20 }),
      /** flushes the timer would have made, at moments the scheduler picks */
      flushes: fc.integer({ min: 0, max: 4 }),
      /** requests the crashing writer sends before it dies (the rest are never sent) */
      crashAfter: fc.integer({ min: 0, max: 30 }),
      /** readings written by the writer opened after the crash */
      after: fc.integer({ min: 0, max: 5 }),
      scheduler: fc.scheduler(),
      inFlight: fc.integer({ min: 2, max: 4 }),
    }),
  );

function expectedFrom(model: InfluxQLModel) {
  const stored = (m: 'luminaire' | 'ap'): Point[] =>
    model.points(m).map((p) => ({ measurement: m, tags: p.tags, fields: p.fields, ts: p.ts }));
  return {
    luminaire: (rowsFromReadings('luminaire', stored('luminaire')) as LuminaireRow[]).map(toLuminaireHour),
    ap: (rowsFromReadings('ap', stored('ap')) as ApRow[]).map(toApHour),
  };
}

async function readBack(layer: InfluxRollupLayer) {
  // an open repairs at its first write: an empty one, then the rows of every acknowledged reading
  await layer.settled();
  await layer.beforeRead();
  const q = { from: T0 - HOUR_MS, to: T0 + 10 * HOUR_MS };
  return { luminaire: await layer.luminaireHours(q), ap: await layer.apHours(q) };
}

test('coalesced InfluxDB rollups: a writer that dies at any moment leaves marks from which the next open repairs them', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ order, batch, outcomes, flushes, crashAfter, after, scheduler, inFlight }) => {
      const model = new InfluxQLModel();
      let requests = 0;
      let dead = false;
      const send = async (points: readonly InfluxPoint[]) => {
        if (dead || requests >= crashAfter) {
          dead = true;
          throw new StoreWriteError('injected: the process is gone', true, points.length);
        }
        const outcome = outcomes[requests++] ?? 'ok';
        await scheduler.schedule(Promise.resolve(), 'apply');
        if (dead || outcome === 'refused') throw new StoreWriteError('injected: HTTP 503', true, points.length);
        model.write(points);
        await scheduler.schedule(Promise.resolve(), 'answer');
        if (outcome === 'lostAnswer') throw new StoreWriteError('injected: timeout', true, points.length);
      };
      const doomed = new InfluxRollupLayer(async (q) => model.query(q), send, { writesInFlight: inFlight, flushIntervalMs: 0 });
      const queue: Point[][] = [];
      const arrival = order.map(readingToPoint);
      for (let i = 0; i < arrival.length; i += batch) queue.push(arrival.slice(i, i + batch));
      const writer = async () => {
        for (let b = queue.shift(); b !== undefined && !dead; b = queue.shift()) {
          try {
            await doomed.write(b);
          } catch (err) {
            if (!(err instanceof StoreWriteError)) throw err;
            queue.push(b);
          }
        }
      };
      const flusher = async () => {
        for (let i = 0; i < flushes && !dead; i++) {
          await scheduler.schedule(Promise.resolve(), 'timer');
          await doomed.flush().catch(() => undefined);
        }
      };
      await scheduler.waitFor(Promise.all([...Array.from({ length: inFlight }, writer), flusher()]));

      // The next process: its open repairs from the marks no watermark covers.
      const next = new InfluxRollupLayer(
        async (q) => model.query(q),
        async (points) => model.write(points),
        { flushIntervalMs: 0 },
      );
      assert.deepEqual(await readBack(next), expectedFrom(model));
      // More readings (some later, some late), then a third open: nothing left to repair, still equal.
      const more = Array.from({ length: after }, (_, i) =>
        readingToPoint({ device: i % 3, minute: 241 + i * 37 - (i % 2) * 200, value: i, kind: i % 3 === 2 ? 'ap' : 'luminaire' }),
      );
      const ok = new Set(model.points('luminaire').map((p) => p.ts));
      await next.write(more.filter((p) => !ok.has(p.ts))).catch((err: unknown) => {
        // a reading at the ts of a stored one of the same series is refused as a conflicting duplicate: fine
        if (!(err instanceof StoreWriteError)) throw err;
      });
      await next.close();
      const third = new InfluxRollupLayer(
        async (q) => model.query(q),
        async (points) => model.write(points),
        { flushIntervalMs: 0 },
      );
      assert.deepEqual(await readBack(third), expectedFrom(model));
      assert.equal(third.repairedAtOpen, 0, 'the watermark covers every mark once the rows are written');
    }),
    { numRuns: 300 },
  );
});
