import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TelemetryBuffer } from './telemetry-buffer';
import { ManualTimers } from '../core/test-support';

test('buffer: flushes as soon as batchMaxReadings is reached', () => {
  const timers = new ManualTimers();
  const batches: number[][] = [];
  const buf = new TelemetryBuffer<number>({ batchMaxReadings: 3, batchMaxDelayMs: 1_000 }, timers, (b) => batches.push(b));
  for (let i = 0; i < 7; i++) buf.add(i);
  assert.deepEqual(batches, [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  assert.equal(buf.pending, 1);
});

test('buffer: flushes when the oldest reading reaches batchMaxDelayMs', () => {
  const timers = new ManualTimers();
  const batches: number[][] = [];
  const buf = new TelemetryBuffer<number>({ batchMaxReadings: 100, batchMaxDelayMs: 1_000 }, timers, (b) => batches.push(b));
  buf.add(1);
  timers.advance(600);
  buf.add(2); // must not restart the clock: the deadline belongs to the oldest reading
  timers.advance(399);
  assert.equal(batches.length, 0);
  timers.advance(1);
  assert.deepEqual(batches, [[1, 2]]);
  assert.equal(timers.pending, 0, 'no timer armed while empty');
  buf.add(3);
  timers.advance(1_000);
  assert.deepEqual(batches, [[1, 2], [3]]);
});

test('buffer: a size flush cancels the delay timer', () => {
  const timers = new ManualTimers();
  const batches: number[][] = [];
  const buf = new TelemetryBuffer<number>({ batchMaxReadings: 2, batchMaxDelayMs: 1_000 }, timers, (b) => batches.push(b));
  buf.add(1);
  buf.add(2);
  assert.equal(timers.pending, 0);
  timers.advance(5_000);
  assert.equal(batches.length, 1);
});

test('buffer: smaller limits take effect at once; close flushes the rest', () => {
  const timers = new ManualTimers();
  const batches: number[][] = [];
  const buf = new TelemetryBuffer<number>({ batchMaxReadings: 10, batchMaxDelayMs: 1_000 }, timers, (b) => batches.push(b));
  for (let i = 0; i < 5; i++) buf.add(i);
  buf.setLimits({ batchMaxReadings: 2, batchMaxDelayMs: 1_000 });
  assert.deepEqual(batches, [[0, 1], [2, 3], [4]]);
  buf.add(9);
  buf.close();
  assert.deepEqual(batches.at(-1), [9]);
});
