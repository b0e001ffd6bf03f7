import { z } from 'zod';
import { DeviceIdSchema } from '@poste/protocol';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00–24:00');

/** A weekly window of the municipality's local time: `days` 0 = Sunday … 6 = Saturday, [from, to) (to < from crosses midnight). */
export const CedeWindowSchema = z
  .object({
    days: z.array(z.number().int().min(0).max(6)).min(1).max(7).default([0, 1, 2, 3, 4, 5, 6]),
    from: HHMM,
    to: HHMM,
  })
  .strict();
export type CedeWindow = z.infer<typeof CedeWindowSchema>;

export const EnrolRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(120).describe('how the coordinator knows the household (never public)'),
    ap: DeviceIdSchema.describe("the household's access point"),
    cededKbps: z.number().min(0).max(1_000_000).describe('kbit/s ceded to telemedicine + public Wi-Fi'),
    windows: z.array(CedeWindowSchema).max(14).default([]).describe('when it is ceded, local time; empty = always'),
    consent: z
      .object({
        accepted: z.literal(true, { error: 'the household must accept the terms (consent.accepted: true)' }),
        termsVersion: z.string().min(1).max(40).describe('which text of the terms they accepted'),
      })
      .strict(),
  })
  .strict();
export type EnrolRequest = z.infer<typeof EnrolRequestSchema>;

export const HouseholdSchema = z.object({
  id: z.string(),
  name: z.string(),
  ap: z.string(),
  municipality: z.string(),
  cededKbps: z.number(),
  windows: z.array(CedeWindowSchema),
  consent: z.object({ accepted: z.literal(true), termsVersion: z.string(), at: z.number().int(), recordedBy: z.string() }),
  state: z.enum(['active', 'revoked']),
  enrolledAt: z.number().int(),
  revokedAt: z.number().int().optional(),
  revokedBy: z.string().optional(),
});
export type Household = z.infer<typeof HouseholdSchema>;
