import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs } from './backoff';

test('backoff: ceiling doubles per attempt up to the maximum, jitter spans [1, ceiling]', () => {
  assert.equal(
    backoffDelayMs(0, 500, 30_000, () => 1),
    500,
  );
  assert.equal(
    backoffDelayMs(3, 500, 30_000, () => 1),
    4_000,
  );
  assert.equal(
    backoffDelayMs(20, 500, 30_000, () => 1),
    30_000,
  );
  assert.equal(
    backoffDelayMs(5, 500, 30_000, () => 0),
    1,
  );
  assert.equal(
    backoffDelayMs(2, 500, 30_000, () => 0.5),
    1_000,
  );
});
