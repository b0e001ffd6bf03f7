import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CounterAccumulator, counterDelta, sumCounterDeltas } from './counter-deltas';

const s = (ts: number, value: number) => ({ ts, value });

test('rising counter: sum of differences, first sample contributes nothing', () => {
  assert.equal(sumCounterDeltas([s(1, 100), s(2, 110), s(3, 125)]), 25);
});

test('a drop is a reset: the new value counts from zero', () => {
  assert.equal(counterDelta(500, 20), 20);
  assert.equal(sumCounterDeltas([s(1, 100), s(2, 110), s(3, 5), s(4, 15)]), 10 + 5 + 10);
});

test('out-of-order input gives the in-order answer', () => {
  const inOrder = [s(1, 100), s(2, 110), s(3, 5), s(4, 15), s(5, 40)];
  const shuffled = [inOrder[3]!, inOrder[0]!, inOrder[4]!, inOrder[2]!, inOrder[1]!];
  assert.equal(sumCounterDeltas(shuffled), sumCounterDeltas(inOrder));
});

test('duplicates (a replay) count once', () => {
  const once = [s(1, 100), s(2, 110), s(3, 130)];
  assert.equal(sumCounterDeltas([...once, ...once, ...once]), 30);
});

test('empty and single-sample ranges give zero', () => {
  assert.equal(sumCounterDeltas([]), 0);
  assert.equal(sumCounterDeltas([s(1, 42)]), 0);
});

test('accumulator skips missing values and rejects time going backwards', () => {
  const acc = new CounterAccumulator();
  acc.add(1, 10);
  acc.add(2, null);
  acc.add(3, 15);
  acc.add(3, 15);
  assert.equal(acc.total, 5);
  assert.throws(() => acc.add(2, 20), RangeError);
});
