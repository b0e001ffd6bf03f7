import * as z from 'zod';
import { GroupIdSchema, TimestampSchema } from './ids';

/**
 * Gateway state, retained on `poste/v1/gw/{gw}/state`. Birth on connect (status online), last will
 * (status offline). `seq` numbers the MQTT session (like Sparkplug's bdSeq): it increases with every
 * new connection, persists across restarts, and a birth and the will of the same session carry the
 * same value — a rebirth requested within a session repeats it. A consumer that sees an offline
 * with the seq of the current session marks the gateway offline; an offline with an older seq is
 * a stale will and is ignored.
 */
export const GatewayStateSchema = z.object({
  v: z.literal(1),
  status: z.enum(['online', 'offline']),
  seq: z.number().int().min(0),
  ts: z.number().int().nonnegative(),
  agentVersion: z.string().max(64).optional(),
  devices: z
    .object({ luminaires: z.number().int().min(0), aps: z.number().int().min(0) })
    .optional()
    .describe('device counts known to the gateway at birth'),
});
export type GatewayState = z.infer<typeof GatewayStateSchema>;

export const DeviceKindSchema = z.enum(['luminaire', 'ap']);
export type DeviceKind = z.infer<typeof DeviceKindSchema>;

/**
 * Device state: retained birth/will a device publishes on the gateway's local endpoint
 * (`poste/v1/dev/{dev}/state`), and which the agent republishes northbound, retained, on
 * `poste/v1/gw/{gw}/dev/{dev}/state`.
 */
export const DeviceStateSchema = z.object({
  v: z.literal(1),
  kind: DeviceKindSchema,
  status: z.enum(['online', 'offline']),
  seq: z.number().int().min(0),
  ts: TimestampSchema,
  model: z.string().max(64).optional(),
  firmware: z.string().max(64).optional(),
  group: GroupIdSchema.optional(),
  nominalPowerW: z.number().min(0).max(100_000).optional().describe('W at 100% dim level'),
});
export type DeviceState = z.infer<typeof DeviceStateSchema>;
