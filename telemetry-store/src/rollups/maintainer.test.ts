// The maintainer's plans change nothing until the store commits them: a write that fails after it
// was planned (disk full, a lost connection) must leave every series' latest row as it was, on the
// append-only path and on the general one alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { readingToPoint } from '../testing/rollup-readings';
import type { Point } from '../types';
import { type IndexedPoint, RollupMaintainer, type RollupStorage } from './maintainer';

/** No stored data: reads answer empty, as a fresh store's would. */
const emptyStorage: RollupStorage = {
  latestRows: async () => [],
  rowBefore: async () => undefined,
  rowAfter: async () => undefined,
  seriesPoints: async () => [],
  existing: async () => [],
};

function batchOf(minutes: number[], device = 0): IndexedPoint[] {
  return minutes.map((minute, index) => ({ index, point: readingToPoint({ device, minute, value: minute, kind: 'luminaire' }) }));
}

function planned(rows: Array<{ row: { hourStart: number; readings: number; deltas: number[] } }>): unknown[] {
  return rows.map(({ row }) => ({ hourStart: row.hourStart, readings: row.readings, deltas: [...row.deltas] }));
}

it('a plan that is not committed leaves the series as they were, so the same batch plans the same again', async () => {
  const m = new RollupMaintainer(emptyStorage);
  const first = await m.plan(batchOf([0, 1, 2]));
  first.commit();
  // Append-only (later than everything, same hour as the latest row), then out of order (general path).
  for (const minutes of [
    [3, 4],
    [5, 70],
    [2.5, 6],
  ]) {
    const batch = batchOf(minutes);
    const once = await m.plan(batch);
    const again = await m.plan(batch);
    assert.deepEqual(planned(again.rows), planned(once.rows), `minutes ${minutes.join(', ')}`);
    assert.deepEqual(
      again.points.map((p: Point) => p.ts),
      once.points.map((p: Point) => p.ts),
    );
  }
  // The committed plan is what the next one builds on.
  const next = await m.plan(batchOf([3]));
  assert.equal(next.rows.length, 1);
  assert.equal(next.rows[0]!.row.readings, 4, 'minutes 0, 1, 2 and 3 in the hour');
});
