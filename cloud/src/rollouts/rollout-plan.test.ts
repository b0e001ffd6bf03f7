import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RolloutPolicySchema, type RolloutTargetView, type TargetOutcome } from '@poste/protocol';
import { decide, planStages, stageViews } from './rollout-plan';

const policy = (p: object) => RolloutPolicySchema.parse({ canary: 1, ...p });
const targets = (outcomes: Array<[number, TargetOutcome]>): RolloutTargetView[] =>
  outcomes.map(([stage, outcome], i) => ({ gateway: 'gw', device: `d${i}`, stage, outcome }));

describe('rollout plan', () => {
  it('puts the canary in stage 0 and the rest in stages of stageSize (default: one stage)', () => {
    assert.deepEqual(planStages(7, { canary: 2, stageSize: 2 }), [0, 0, 1, 1, 2, 2, 3]);
    assert.deepEqual(planStages(4, { canary: 1 }), [0, 1, 1, 1]);
    assert.deepEqual(planStages(2, { canary: 5 }), [0, 0]);
  });

  it('waits while the stage is unsettled, advances when enough committed, completes after the last stage', () => {
    const p = policy({ successThreshold: 0.5, errorThreshold: 0.5 });
    assert.deepEqual(
      decide(
        targets([
          [0, 'installing'],
          [1, 'waiting'],
        ]),
        0,
        p,
      ),
      { kind: 'none' },
    );
    assert.deepEqual(
      decide(
        targets([
          [0, 'committed'],
          [1, 'waiting'],
        ]),
        0,
        p,
      ),
      { kind: 'advance', stage: 1 },
    );
    assert.deepEqual(
      decide(
        targets([
          [0, 'committed'],
          [1, 'committed'],
        ]),
        1,
        p,
      ),
      { kind: 'complete' },
    );
  });

  it('halts mid-stage once failures among started targets exceed the error threshold', () => {
    const d = decide(
      targets([
        [0, 'rolledBack'],
        [0, 'transferring'],
        [1, 'waiting'],
      ]),
      0,
      policy({ errorThreshold: 0.4 }),
    );
    assert.equal(d.kind, 'halt');
    assert.match((d as { reason: string }).reason, /1 of 2 started targets failed \(50% > 40%\)/);
    // exactly at the threshold is not over it
    assert.equal(
      decide(
        targets([
          [0, 'timedOut'],
          [0, 'committed'],
          [1, 'waiting'],
        ]),
        0,
        policy({ errorThreshold: 0.5, successThreshold: 0.5 }),
      ).kind,
      'advance',
    );
  });

  it('halts a settled stage that missed the success threshold', () => {
    const d = decide(
      targets([
        [0, 'committed'],
        [0, 'refused'],
        [1, 'waiting'],
      ]),
      0,
      policy({ errorThreshold: 1, successThreshold: 0.9 }),
    );
    assert.deepEqual(d, { kind: 'halt', reason: 'stage 0 missed the success threshold: 1 of 2 committed (50% < 90%)' });
  });

  it('summarises stages for the API', () => {
    const t = targets([
      [0, 'committed'],
      [1, 'rolledBack'],
      [2, 'skipped'],
    ]);
    assert.deepEqual(
      stageViews(t, 1, [1, 2], true).map((s) => s.state),
      ['passed', 'failed', 'stopped'],
    );
  });
});
