import { z } from 'zod';
import { AckOutcomeSchema, DeviceIdSchema, GroupIdSchema, MunicipalityIdSchema } from '@poste/protocol';

/** What an operator asks for (POST /api/v1/commands), one schema per kind. */
export const OverrideTargetSchema = z.union([
  z.object({ luminaire: DeviceIdSchema }).strict(),
  z.object({ municipality: MunicipalityIdSchema, group: GroupIdSchema }).strict(),
  z.object({ municipality: MunicipalityIdSchema }).strict(),
]);
export type OverrideTarget = z.infer<typeof OverrideTargetSchema>;

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'id: 1-64 chars of A-Z a-z 0-9 . _ : -, starting alphanumeric');

export const CommandRequestSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('override'),
      target: OverrideTargetSchema.describe('one luminaire, a group of a municipality, or a whole municipality'),
      level: z.number().min(0).max(100).describe('%'),
      start: z.number().int().nonnegative().optional().describe('ms since epoch; absent = now. A later start is held and sent then.'),
      expiry: z.number().int().positive().describe('ms since epoch: the override ends then and the program resumes'),
    })
    .strict(),
  z.object({ kind: z.literal('clearOverride'), target: OverrideTargetSchema }).strict(),
  z
    .object({
      kind: z.literal('assignCalendar'),
      municipality: MunicipalityIdSchema,
      group: GroupIdSchema,
      calendar: Id.optional().describe('a calendar of the gateways’ scheduler configuration'),
      program: Id.optional().describe('or a program: the group gets a calendar running it every day'),
    })
    .strict()
    .refine((r) => (r.calendar === undefined) !== (r.program === undefined), {
      message: 'exactly one of calendar or program',
      path: ['calendar'],
    }),
  z
    .object({
      kind: z.literal('apPublicShare'),
      ap: DeviceIdSchema,
      publicCapKbps: z.number().min(0).max(100_000_000).describe('kbit/s ceded to telemedicine + public; 0 = nothing'),
      householdReserveKbps: z.number().min(0).max(100_000_000).optional(),
      household: z.string().optional().describe('set by the households API: the enrolment this follows'),
    })
    .strict(),
]);
export type CommandRequest = z.infer<typeof CommandRequestSchema>;

export const CommandStateSchema = z.enum(['scheduled', 'sent', 'done', 'partial', 'failed', 'cancelled']);
export type CommandState = z.infer<typeof CommandStateSchema>;

/** One message to one gateway: a command (ack) or a desired config version (reported config). */
export const CommandPartSchema = z.object({
  gateway: z.string(),
  /** the protocol command id, or `config:VERSION` for a desired-config change */
  ref: z.string(),
  target: z.string().describe('what the gateway was asked to act on, e.g. device:lum-1, group:av'),
  outcome: z.union([AckOutcomeSchema, z.literal('pending')]),
  detail: z.string().optional(),
  answeredAt: z.number().int().optional(),
});
export type CommandPart = z.infer<typeof CommandPartSchema>;

/** The audit record: who asked what, when, and how it ended. */
export const CommandRecordSchema = z.object({
  id: z.string(),
  kind: z.enum(['override', 'clearOverride', 'assignCalendar', 'apPublicShare']),
  request: z.record(z.string(), z.unknown()).describe('the request as accepted'),
  requestedBy: z.string().describe("the token's name"),
  role: z.string(),
  requestedAt: z.number().int(),
  state: CommandStateSchema,
  sentAt: z.number().int().optional(),
  completedAt: z.number().int().optional(),
  /** 'done' when every part is done; else the first other outcome */
  outcome: z.string().optional(),
  parts: z.array(CommandPartSchema),
});
export type CommandRecord = z.infer<typeof CommandRecordSchema>;
