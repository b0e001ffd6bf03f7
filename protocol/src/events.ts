import * as z from 'zod';
import { DeviceIdSchema, TimestampSchema } from './ids';

/**
 * Event types: TALQ-style failures plus sensor triggers that drive dynamic dimming, and what the
 * gateway says about itself (`device` = the gateway id): `uplinkDown`, and `telemetryDropped` when
 * its telemetry spool overflowed and dropped its oldest readings (`value` = how many, `detail` =
 * since when).
 */
export const EventTypeSchema = z.enum([
  'lampFailure',
  'driverFailure',
  'dayBurner',
  'cyclingFailure',
  'supplyLoss',
  'tamper',
  'motion',
  'traffic',
  'apDown',
  'uplinkDown',
  'telemetryDropped',
]);
export type EventType = z.infer<typeof EventTypeSchema>;

export const DeviceEventSchema = z.object({
  device: DeviceIdSchema,
  ts: TimestampSchema,
  type: EventTypeSchema,
  active: z.boolean().describe('true when the condition starts, false when it clears'),
  value: z.number().optional().describe('sensor magnitude where meaningful (e.g. traffic count)'),
  detail: z.string().max(500).optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEventSchema>;

export const EventBatchEnvelopeSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().min(0).describe('per gateway, counting from 0 when the agent starts: a gap means lost messages'),
  events: z.array(z.unknown()).max(5_000),
});
export interface EventBatch {
  v: 1;
  seq: number;
  events: DeviceEvent[];
}
