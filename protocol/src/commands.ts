import * as z from 'zod';
import { DeviceIdSchema, GroupIdSchema, TimestampSchema } from './ids';

const ClassShapeSchema = z
  .object({
    rateKbps: z.number().min(0).max(100_000_000).describe('kbit/s guaranteed to the class'),
    ceilKbps: z.number().min(0).max(100_000_000).describe('kbit/s the class may reach by borrowing what others leave idle'),
  })
  .strict()
  .refine((c) => c.ceilKbps >= c.rateKbps, { message: 'ceilKbps must be at least rateKbps', path: ['ceilKbps'] });

/**
 * An access point's bandwidth plan (docs/architecture.md, "Bandwidth sharing"), the agent's
 * scheduler → the AP: per traffic class a guaranteed rate and a ceiling. Telemedicine and public
 * share one parent whose ceiling is `publicCapKbps` (what the household cedes), so borrowing never
 * lifts shared traffic above it; the household may borrow up to the whole link.
 */
export const ApBandwidthPlanSchema = z
  .object({
    capacityKbps: z.number().min(1).max(100_000_000).describe('kbit/s, the uplink'),
    publicCapKbps: z.number().min(0).max(100_000_000).describe('kbit/s, ceiling of telemedicine + public together'),
    household: ClassShapeSchema,
    telemedicine: ClassShapeSchema,
    public: ClassShapeSchema,
  })
  .strict()
  .superRefine((p, ctx) => {
    const sum = p.household.rateKbps + p.telemedicine.rateKbps + p.public.rateKbps;
    // 1 kbit/s of slack: rates come from floating-point allocation.
    if (sum > p.capacityKbps + 1)
      ctx.addIssue({
        code: 'custom',
        path: ['household', 'rateKbps'],
        message: `guaranteed rates add up to ${sum} kbit/s, above capacityKbps ${p.capacityKbps}`,
      });
    if (p.publicCapKbps > p.capacityKbps) ctx.addIssue({ code: 'custom', path: ['publicCapKbps'], message: 'above capacityKbps' });
    for (const c of ['household', 'telemedicine', 'public'] as const) {
      const cap = c === 'household' ? p.capacityKbps : p.publicCapKbps;
      if (p[c].ceilKbps > cap + 1)
        ctx.addIssue({
          code: 'custom',
          path: [c, 'ceilKbps'],
          message: `above ${c === 'household' ? 'capacityKbps' : 'publicCapKbps'} (${cap})`,
        });
    }
    if (p.telemedicine.rateKbps + p.public.rateKbps > p.publicCapKbps + 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['public', 'rateKbps'],
        message: `telemedicine + public rates above publicCapKbps ${p.publicCapKbps}`,
      });
    }
  });
export type ApBandwidthPlan = z.infer<typeof ApBandwidthPlanSchema>;

/** What a command addresses: one device, a group of luminaires, or the gateway itself. */
export const CommandTargetSchema = z.union([
  z.object({ device: DeviceIdSchema }).strict(),
  z.object({ group: GroupIdSchema }).strict(),
  z.object({ gateway: z.literal(true) }).strict(),
]);
export type CommandTarget = z.infer<typeof CommandTargetSchema>;

/** The actions, one schema each (discriminated on `action`). */
export const CommandActionSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('dim'),
    level: z.number().min(0).max(100).describe('%'),
    until: TimestampSchema.optional().describe('override expiry; absent = until cleared'),
  }),
  z.object({ action: z.literal('clearOverride') }),
  z.object({ action: z.literal('rebirth') }),
  z.object({
    action: z.literal('identify'),
    durationS: z.number().int().min(1).max(3600).default(30),
  }),
  z.object({ action: z.literal('bandwidthPlan'), plan: ApBandwidthPlanSchema }),
]);
export type CommandAction = z.infer<typeof CommandActionSchema>;

const CommandBase = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64).describe('unique command id, echoed in the ack'),
  target: CommandTargetSchema,
  issuedAt: TimestampSchema,
  expiresAt: TimestampSchema.describe('not executed after this instant; acked as expired'),
});

/** Cloud → gateway on `poste/v1/gw/{gw}/cmd`. */
export const CommandSchema = z.intersection(CommandBase, CommandActionSchema);
export type Command = z.infer<typeof CommandSchema>;

/** Agent → device on the local endpoint `poste/v1/dev/{dev}/cmd`. */
export const DeviceCommandSchema = z.intersection(
  z.object({
    v: z.literal(1),
    id: z.string().min(1).max(64),
    expiresAt: TimestampSchema,
  }),
  CommandActionSchema,
);
export type DeviceCommand = z.infer<typeof DeviceCommandSchema>;

export const AckOutcomeSchema = z.enum([
  'done', // executed
  'rejected', // understood but refused (detail says why)
  'expired', // arrived or would execute after expiresAt
  'unknownTarget', // no such device or group on this gateway
  'failed', // tried and failed
  'timeout', // device did not answer in time
]);
export type AckOutcome = z.infer<typeof AckOutcomeSchema>;

/** Device → agent on `poste/v1/dev/{dev}/ack`. */
export const DeviceAckSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  outcome: AckOutcomeSchema,
  ts: TimestampSchema,
  detail: z.string().max(500).optional(),
});
export type DeviceAck = z.infer<typeof DeviceAckSchema>;

/**
 * Gateway → cloud on `poste/v1/gw/{gw}/ack`: one per command. For group targets `results` lists
 * the per-device outcomes; `outcome` is `done` only when all succeeded.
 */
export const AckSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  outcome: AckOutcomeSchema,
  ts: TimestampSchema,
  detail: z.string().max(500).optional(),
  results: z
    .array(z.object({ device: DeviceIdSchema, outcome: AckOutcomeSchema, detail: z.string().max(500).optional() }))
    .max(5_000)
    .optional(),
});
export type Ack = z.infer<typeof AckSchema>;
