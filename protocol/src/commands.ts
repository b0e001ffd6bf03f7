import { z } from 'zod';
import { DeviceIdSchema, GroupIdSchema, TimestampSchema } from './ids';

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
