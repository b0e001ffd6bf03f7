// The decisions of a staged rollout, as pure functions of its record (no I/O, no clock): how
// targets fall into stages, and what to do after an outcome changed — nothing, start the next
// stage, complete, or halt with the reason a technician reads.
import { isFailedOutcome, isFinalOutcome, type RolloutPolicy, type RolloutTargetView, type StageView } from '@poste/protocol';

/** Stage index of each of `n` targets: the first `canary` in stage 0, then `stageSize` per stage. */
export function planStages(n: number, policy: Pick<RolloutPolicy, 'canary' | 'stageSize'>): number[] {
  const canary = Math.min(policy.canary, n);
  const rest = policy.stageSize ?? Math.max(n - canary, 1);
  return Array.from({ length: n }, (_, i) => (i < canary ? 0 : 1 + Math.floor((i - canary) / rest)));
}

export type RolloutDecision =
  | { kind: 'none' }
  | { kind: 'advance'; stage: number }
  | { kind: 'complete' }
  | { kind: 'halt'; reason: string };

const percent = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/**
 * After any outcome changed: halt as soon as the failures among the targets started so far exceed
 * the error threshold (even mid-stage: a bad image must not reach more poles); once every target of
 * the current stage is final, start the next stage if enough of it committed, else halt.
 */
export function decide(targets: readonly RolloutTargetView[], stage: number, policy: RolloutPolicy): RolloutDecision {
  const started = targets.filter((t) => t.outcome !== 'waiting' && t.outcome !== 'skipped');
  const failed = started.filter((t) => isFailedOutcome(t.outcome)).length;
  if (started.length > 0 && failed > policy.errorThreshold * started.length) {
    return {
      kind: 'halt',
      reason: `error threshold crossed: ${failed} of ${started.length} started targets failed (${percent(failed / started.length)} > ${percent(policy.errorThreshold)})`,
    };
  }
  const current = targets.filter((t) => t.stage === stage);
  if (!current.every((t) => isFinalOutcome(t.outcome))) return { kind: 'none' };
  const committed = current.filter((t) => t.outcome === 'committed').length;
  if (committed < policy.successThreshold * current.length) {
    return {
      kind: 'halt',
      reason: `stage ${stage} missed the success threshold: ${committed} of ${current.length} committed (${percent(committed / current.length)} < ${percent(policy.successThreshold)})`,
    };
  }
  const last = Math.max(...targets.map((t) => t.stage));
  return stage >= last ? { kind: 'complete' } : { kind: 'advance', stage: stage + 1 };
}

/** Per-stage summary for the API and the CLI; `stopped` = the rollout halted or was aborted. */
export function stageViews(
  targets: readonly RolloutTargetView[],
  stage: number,
  stageStartedAt: readonly (number | undefined)[],
  stopped: boolean,
): StageView[] {
  const count = Math.max(...targets.map((t) => t.stage)) + 1;
  return Array.from({ length: count }, (_, index) => {
    const members = targets.filter((t) => t.stage === index);
    const committed = members.filter((t) => t.outcome === 'committed').length;
    const failed = members.filter((t) => isFailedOutcome(t.outcome)).length;
    const settled = members.every((t) => isFinalOutcome(t.outcome));
    const startedAt = stageStartedAt[index];
    let state: StageView['state'];
    if (index > stage || startedAt === undefined) state = stopped ? 'stopped' : 'waiting';
    else if (index < stage) state = 'passed';
    else if (!settled) state = stopped ? 'stopped' : 'running';
    else state = stopped && failed > 0 ? 'failed' : 'passed';
    return { index, targets: members.length, state, committed, failed, ...(startedAt !== undefined ? { startedAt } : {}) };
  });
}
