import * as z from 'zod';
import { TimestampSchema } from './ids';

/** Telemetry batching of the agent: a batch leaves when full or when its oldest reading is this old. */
export const TelemetryConfigSchema = z.object({
  batchMaxReadings: z.number().int().min(1).max(5_000).default(500).describe('a batch leaves when it holds this many readings…'),
  batchMaxDelayMs: z.number().int().min(10).max(600_000).default(1_000).describe('…or when its oldest reading is this old (ms)'),
});

/**
 * Per access point, what its household cedes (docs: dashboard-api/README.md, coproduced Wi-Fi):
 * the ceiling of telemedicine + public traffic, and optionally the household's own reserve. The
 * dashboard publishes it from the households' enrolments (0 when revoked or outside the ceded time
 * windows); the agent's bandwidth extension plans with it from its next tick.
 */
export const ApSharePolicySchema = z
  .object({
    publicCapKbps: z.number().min(0).max(100_000_000).describe('kbit/s ceded to telemedicine + public together'),
    householdReserveKbps: z
      .number()
      .min(0)
      .max(100_000_000)
      .optional()
      .describe("kbit/s kept for the household; absent = the agent's default share"),
  })
  .strict();
export type ApSharePolicy = z.infer<typeof ApSharePolicySchema>;

/**
 * Desired gateway configuration. `scheduler` is validated by the agent with the scheduler's own
 * schemas (calendars, programs, overrides), which live beside the scheduler.
 */
export const GatewayConfigSchema = z.object({
  telemetry: TelemetryConfigSchema.optional().describe("northbound batching; absent = the agent's own settings"),
  bandwidth: z
    .object({ aps: z.record(z.string(), ApSharePolicySchema).describe('by AP device id') })
    .optional()
    .describe("each AP's ceded share, from the households' enrolments; absent = the agent's own settings"),
  scheduler: z
    .unknown()
    .optional()
    .describe(
      'dimming calendars, programs, controls and overrides, validated by the agent (docs/schemas/scheduler-config.schema.json); absent = no scheduler commands',
    ),
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/** Cloud → gateway, retained, on `poste/v1/gw/{gw}/config/desired`. */
export const DesiredConfigSchema = z.object({
  v: z.literal(1),
  version: z.number().int().min(1).describe('monotonic; the agent ignores versions ≤ the applied one'),
  config: GatewayConfigSchema.describe('the configuration this version puts in force'),
});
export type DesiredConfig = z.infer<typeof DesiredConfigSchema>;

/** Gateway → cloud, retained, on `poste/v1/gw/{gw}/config/reported`. */
export const ReportedConfigSchema = z.object({
  v: z.literal(1),
  version: z.number().int().min(0).describe('version now in force'),
  ts: TimestampSchema,
  status: z.enum(['applied', 'rejected']),
  rejectedVersion: z.number().int().min(1).optional(),
  error: z.object({ path: z.string(), reason: z.string() }).optional(),
});
export type ReportedConfig = z.infer<typeof ReportedConfigSchema>;
