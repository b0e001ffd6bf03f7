// Staged rollouts: one signed image sent to a set of targets in stages — a canary group first,
// then the rest in stages of a given size. A stage passes when at least `successThreshold` of its
// targets committed the new image; the rollout halts as soon as more than `errorThreshold` of the
// targets started so far failed (refused, rolled back, failed or timed out). These schemas are the
// HTTP contract between the cloud (dashboard API) and `poste-firmware rollout`.
import * as z from 'zod';
import { DeviceIdSchema, GatewayIdSchema, TimestampSchema } from './ids';
import { FirmwareManifestSchema, ForceSchema, OtaPhaseSchema } from './ota';

export const RolloutIdSchema = z.string().regex(/^r-[0-9a-f]{8}$/, 'rollout id: r- and 8 hex digits');

/** One target: a device behind a gateway, or the gateway's own agent (`$gateway`). */
export const RolloutTargetSchema = z
  .object({ gateway: GatewayIdSchema, device: z.union([DeviceIdSchema, z.literal('$gateway')]) })
  .strict();
export type RolloutTarget = z.infer<typeof RolloutTargetSchema>;

export const RolloutPolicySchema = z
  .object({
    canary: z.number().int().min(1).describe('targets in the first stage (the canary group), taken in the order given'),
    stageSize: z.number().int().min(1).optional().describe('targets per later stage; default: all the rest in one stage'),
    successThreshold: z.number().min(0).max(1).default(0.9).describe('fraction of a stage that must commit for the next stage to start'),
    errorThreshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('the rollout halts as soon as more than this fraction of the targets started so far failed'),
    deviceTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000)
      .default(3_600_000)
      .describe('a target with no final outcome this long after its stage started counts as failed (timedOut)'),
  })
  .strict();
export type RolloutPolicy = z.infer<typeof RolloutPolicySchema>;

/** POST /api/v1/rollouts */
export const RolloutRequestSchema = z
  .object({
    name: z.string().min(1).max(100).optional(),
    manifest: FirmwareManifestSchema,
    image: z.string().min(1).describe('base64 of the image bytes (checked against the manifest size and sha256)'),
    targets: z.array(RolloutTargetSchema).min(1).max(5_000),
    policy: RolloutPolicySchema,
    force: ForceSchema.optional().describe('install even when older than what runs (audited on each device)'),
  })
  .strict();
export type RolloutRequest = z.input<typeof RolloutRequestSchema>;

export const RolloutStateSchema = z.enum([
  'running', // the current stage's jobs are out
  'paused', // no chunk served, no stage started; devices that already hold the image finish
  'completed', // every stage passed
  'halted', // a stage missed the success threshold or failures crossed the error threshold
  'aborted', // stopped by a technician
]);
export type RolloutState = z.infer<typeof RolloutStateSchema>;

export const TargetOutcomeSchema = z.union([
  z.literal('waiting').describe('its stage has not started'),
  OtaPhaseSchema.exclude(['downloading']).describe('the last phase the gateway reported for it'),
  z.literal('sent').describe('its job is out; the gateway downloads the image'),
  z.literal('timedOut'),
  z.literal('skipped').describe('the rollout stopped before its stage'),
]);
export type TargetOutcome = z.infer<typeof TargetOutcomeSchema>;

export const RolloutTargetViewSchema = RolloutTargetSchema.extend({
  stage: z.number().int().min(0),
  outcome: TargetOutcomeSchema,
  detail: z.string().optional(),
  running: z.string().optional().describe('the version the target runs, when it said'),
  updatedAt: TimestampSchema.optional(),
});
export type RolloutTargetView = z.infer<typeof RolloutTargetViewSchema>;

export const StageViewSchema = z.object({
  index: z.number().int().min(0),
  targets: z.number().int().min(1),
  state: z.enum(['waiting', 'running', 'passed', 'failed', 'stopped']),
  committed: z.number().int().min(0),
  failed: z.number().int().min(0),
  startedAt: TimestampSchema.optional(),
});
export type StageView = z.infer<typeof StageViewSchema>;

export const RolloutViewSchema = z.object({
  id: RolloutIdSchema,
  name: z.string().optional(),
  state: RolloutStateSchema,
  reason: z.string().optional().describe('why it halted or who aborted it'),
  image: z.object({ family: z.string(), model: z.string(), version: z.string(), size: z.number(), sha256: z.string() }),
  policy: RolloutPolicySchema,
  createdBy: z.string(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  stage: z.number().int().min(0).describe('the current (or last) stage'),
  stages: z.array(StageViewSchema),
  counts: z.object({
    total: z.number().int(),
    committed: z.number().int(),
    failed: z.number().int(),
    inProgress: z.number().int(),
    waiting: z.number().int(),
  }),
  targets: z.array(RolloutTargetViewSchema),
});
export type RolloutView = z.infer<typeof RolloutViewSchema>;

/** POST /api/v1/rollouts/{id}/{action} */
export const RolloutActionSchema = z.enum(['pause', 'resume', 'abort']);
export type RolloutAction = z.infer<typeof RolloutActionSchema>;

const FAILED: ReadonlySet<TargetOutcome> = new Set(['rolledBack', 'refused', 'failed', 'timedOut']);
/** An outcome that counts against the error threshold. */
export function isFailedOutcome(o: TargetOutcome): boolean {
  return FAILED.has(o);
}
/** An outcome that will not change any more. */
export function isFinalOutcome(o: TargetOutcome): boolean {
  return o === 'committed' || o === 'skipped' || FAILED.has(o);
}
