import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Accounting } from './accounting';
import type { Rig } from './rig';

/** Ground truth must be well above noise for a 0.1 % comparison to mean anything. */
const MIN_TRUTH_WH = 1_000;

/**
 * Nothing lost, nothing doubled: every reading and event the devices produced is in the store
 * exactly once, series by series, and the stored energy equals the simulators' ground truth
 * within 0.1 % (unrounded). No overflow policy may explain a difference: the rig's spools are
 * sized so that none drops, so any difference is a loss.
 */
export function assertNothingLost(t: TestContext, rig: Rig, acc: Accounting): void {
  const e = acc.energy;
  t.diagnostic(
    `readings produced ${JSON.stringify(acc.expected)}, stored ${JSON.stringify(acc.stored)}; energy: store ${e.storeWh} Wh, ` +
      `stored points ${e.pointsWh} Wh, devices reported ${e.ledgerWh} Wh, ground truth ${e.truthWh} Wh, error ${(e.relativeError * 100).toFixed(6)} %`,
  );
  const context = (): string => `\n${rig.logs()}`;
  assert.deepEqual(
    acc.mismatches.slice(0, 10),
    [],
    `${acc.mismatches.length} series differ from what the devices produced (expected ${JSON.stringify(acc.expected)}, stored ${JSON.stringify(acc.stored)})${context()}`,
  );
  assert.deepEqual(acc.stored, acc.expected, 'per measurement, stored = produced');
  assert.deepEqual(e.perDeviceMismatches, [], 'every luminaire’s stored readings add up to the energy it reported');
  assert.ok(e.truthWh > MIN_TRUTH_WH, `ground truth ${e.truthWh} Wh is too small to test 0.1 % against`);
  assert.ok(
    e.relativeError < 0.001,
    `stored energy ${e.storeWh} Wh vs ground truth ${e.truthWh} Wh: ${(e.relativeError * 100).toFixed(4)} % off (limit 0.1 %)`,
  );
}
