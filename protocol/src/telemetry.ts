import * as z from 'zod';
import { DeviceIdSchema, GroupIdSchema, TimestampSchema } from './ids';

/** Luminaire status, named after TALQ/FIWARE failure attributes. */
export const LuminaireStatusSchema = z.enum(['ok', 'lampFailure', 'driverFailure', 'dayBurner', 'cyclingFailure', 'supplyLoss']);
export type LuminaireStatus = z.infer<typeof LuminaireStatusSchema>;

/** One reading from one luminaire controller. Field names follow TALQ / FIWARE Streetlight. */
export const LuminaireReadingSchema = z.object({
  device: DeviceIdSchema,
  ts: TimestampSchema,
  activePower: z.number().min(0).max(100_000).describe('W, instantaneous'),
  activeEnergy: z.number().min(0).describe('Wh, cumulative counter (may reset to 0)'),
  dimLevel: z.number().min(0).max(100).describe('%, 0 = off, 100 = full'),
  voltage: z.number().min(0).max(1_000).describe('V RMS'),
  current: z.number().min(0).max(1_000).describe('A RMS'),
  powerFactor: z.number().min(0).max(1).describe('0..1'),
  operatingHours: z.number().min(0).describe('h lit, cumulative counter'),
  switchOnCounter: z.number().int().min(0).describe('count, cumulative'),
  status: LuminaireStatusSchema,
  group: GroupIdSchema.optional().describe('lighting group; filled in by the agent from the device birth'),
});
export type LuminaireReading = z.infer<typeof LuminaireReadingSchema>;

/** Per-class figures of an access point: the household's own share and what it cedes. */
export const TrafficClassSchema = z.enum(['household', 'telemedicine', 'public']);
export type TrafficClass = z.infer<typeof TrafficClassSchema>;

const PerClassCount = z.object({
  household: z.number().int().min(0),
  telemedicine: z.number().int().min(0),
  public: z.number().int().min(0),
});

/**
 * What an AP that a household cedes reports about that cession (version 1), optional: APs and
 * firmware without it send readings as before. Counters are cumulative since the AP booted (reset
 * with `uptime`), so a lost reading loses no session and no second, and the store chains them like
 * the byte counters (reset-aware deltas). Sessions are counted by the AP's telemedicine class
 * (flows to the programme's clinics); the reserve is honoured in a second when the household got
 * all it asked for, or at least its reserve.
 */
export const ApCoproductionSchema = z.object({
  v: z.literal(1),
  telemedicineSessions: z.number().int().min(0).describe('telemedicine sessions started since boot, cumulative'),
  telemedicineSessionsActive: z.number().int().min(0).describe('telemedicine sessions open at the reading'),
  reserveKbps: z.number().min(0).describe("kbit/s, the household's reserve in force at the reading"),
  reserveMeasuredS: z.number().min(0).describe('s since boot in which the AP measured the household class, cumulative'),
  reserveHonouredS: z
    .number()
    .min(0)
    .describe('s since boot in which the household got its demand or at least its reserve, cumulative (≤ reserveMeasuredS)'),
});
export type ApCoproduction = z.infer<typeof ApCoproductionSchema>;

/** One reading from one OpenWrt access point (ubus-shaped figures, no client MACs: privacy). */
export const ApReadingSchema = z.object({
  device: DeviceIdSchema,
  ts: TimestampSchema,
  capacityKbps: z.number().min(0).describe('kbit/s, uplink capacity'),
  uptime: z.number().min(0).describe('s since the AP booted'),
  clients: PerClassCount.describe('associated clients per class'),
  bytes: PerClassCount.describe('bytes, cumulative counters per class (rx+tx)'),
  load1: z.number().min(0).max(10_000).optional().describe('1-minute load average (ubus system info)'),
  memAvailableBytes: z.number().int().min(0).optional().describe('bytes of memory available (ubus system info)'),
  coproduction: ApCoproductionSchema.optional().describe('telemedicine sessions and the household reserve (APs a household cedes)'),
});
export type ApReading = z.infer<typeof ApReadingSchema>;

/** Upper bound of readings in one northbound batch (an InfluxDB write batch is 5,000 points). */
export const MAX_BATCH_READINGS = 5_000;

/**
 * Northbound batch envelope. Readings are checked one by one (see decodeBatch) so a single bad
 * reading is rejected and counted without poisoning the rest of the batch.
 */
export const TelemetryBatchEnvelopeSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().min(0).describe('per gateway and topic, counting from 0 when the agent starts: a gap means lost messages'),
  readings: z.array(z.unknown()).max(MAX_BATCH_READINGS),
});

export interface LuminaireBatch {
  v: 1;
  seq: number;
  readings: LuminaireReading[];
}
export interface ApBatch {
  v: 1;
  seq: number;
  readings: ApReading[];
}

/** Local (device → agent) telemetry: one reading, tagged with its kind. */
export const LocalTelemetrySchema = z.discriminatedUnion('kind', [
  LuminaireReadingSchema.extend({ kind: z.literal('luminaire') }),
  ApReadingSchema.extend({ kind: z.literal('ap') }),
]);
export type LocalTelemetry = z.infer<typeof LocalTelemetrySchema>;
