/**
 * What a simulated fleet must carry across a restart so its output continues where it stopped:
 * counters (energy, operating hours, switch-ons, AP bytes), faults, overrides, report schedule and
 * PRNG state of every device, plus the readings the devices still hold unacknowledged. Without it a
 * restarted city would start every counter at 0 again: false counter resets in the store.
 * Read from disk, so validated here (zod); errors name the path.
 */
import { ApBandwidthPlanSchema, DeviceEventSchema, LocalTelemetrySchema } from '@poste/protocol';
import { z } from 'zod';
import { LUMINAIRE_FAULTS } from './luminaire-model';
import { RECENT_SESSIONS } from './telemedicine';

const finite = z.number().finite();
const nonNegative = finite.min(0);
const perClass = z.object({ household: nonNegative, telemedicine: nonNegative, public: nonNegative }).strict();
const prngState = z.number().int().min(0).max(0xffff_ffff);

export const LuminaireModelSnapshotSchema = z
  .object({
    nowMs: finite,
    dimLevel: finite.min(0).max(100),
    energyCounterWh: nonNegative,
    groundTruthWh: nonNegative,
    operatingHours: nonNegative,
    switchOnCounter: z.number().int().min(0),
    /** [fault, sim ms it started] */
    faults: z.array(z.tuple([z.enum(LUMINAIRE_FAULTS as [string, ...string[]]), finite])),
    wasLit: z.boolean(),
  })
  .strict();

export const ReportLedgerSnapshotSchema = z
  .object({
    reports: z.number().int().min(0),
    firstTs: finite.nullable(),
    lastTs: finite.nullable(),
    firstTruthWh: nonNegative,
    lastTruthWh: nonNegative,
    firstCounterWh: nonNegative,
    lastCounterWh: nonNegative,
    measuredWh: nonNegative,
    counterResets: z.number().int().min(0),
    // Absent in checkpoints written before lit hours were kept (read as 0: hours before the resume are not counted).
    firstOperatingH: nonNegative.optional(),
    lastOperatingH: nonNegative.optional(),
  })
  .strict();

export const LuminaireSnapshotSchema = z
  .object({
    kind: z.literal('luminaire'),
    model: LuminaireModelSnapshotSchema,
    override: z
      .object({ level: finite.min(0).max(100), until: finite.nullable() })
      .strict()
      .nullable(),
    rng: prngState,
    ledger: ReportLedgerSnapshotSchema,
    nextReportAt: finite,
  })
  .strict();

const TelemedicineSessionSchema = z
  .object({ id: z.number().int().min(1), startMs: finite, endMs: finite, kbps: nonNegative, bytes: nonNegative })
  .strict();
const TelemedicineSessionsSnapshotSchema = z
  .object({
    active: z.array(TelemedicineSessionSchema).max(10_000),
    recent: z.array(TelemedicineSessionSchema).max(RECENT_SESSIONS),
    startedSinceBoot: z.number().int().min(0),
    startedTotal: z.number().int().min(0),
    nextId: z.number().int().min(1),
  })
  .strict();

/** What an AP's reports let one measure: reset-aware deltas of its counters, the first report contributing nothing. */
export const ApReportLedgerSchema = z
  .object({
    reports: z.number().int().min(0),
    /** the last report's counters (null before the first) */
    last: z
      .object({ bytes: perClass, sessions: z.number().int().min(0), measuredS: nonNegative, honouredS: nonNegative })
      .strict()
      .nullable(),
    bytes: perClass,
    sessions: z.number().int().min(0),
    measuredS: nonNegative,
    honouredS: nonNegative,
  })
  .strict();

export const ApModelSnapshotSchema = z
  .object({
    nowMs: finite,
    bootMs: finite,
    down: z.boolean(),
    demandKbps: perClass,
    servedKbps: perClass,
    clients: perClass,
    bytes: perClass,
    groundTruthBytes: perClass,
    rng: prngState,
    plan: ApBandwidthPlanSchema.optional().describe('the bandwidth plan in force (absent in checkpoints written before plans)'),
    // Absent in checkpoints written before telemedicine sessions and the reserve's seconds.
    auxRng: prngState.optional(),
    linkFactor: finite.min(0).max(1).optional(),
    sessions: TelemedicineSessionsSnapshotSchema.optional(),
    reserve: z
      .object({ measuredS: nonNegative, honouredS: nonNegative, totalMeasuredS: nonNegative, totalHonouredS: nonNegative })
      .strict()
      .optional(),
  })
  .strict();

export const ApSnapshotSchema = z
  .object({
    kind: z.literal('ap'),
    model: ApModelSnapshotSchema,
    reports: z.number().int().min(0),
    nextReportAt: finite,
    ledger: ApReportLedgerSchema.optional().describe('absent in checkpoints written before the AP ledger'),
  })
  .strict();

export const DeviceSnapshotSchema = z.discriminatedUnion('kind', [LuminaireSnapshotSchema, ApSnapshotSchema]);

/** Outputs counted by measurement as the store names them. */
export const ProducedCountsSchema = z
  .object({ luminaire: z.number().int().min(0), ap: z.number().int().min(0), event: z.number().int().min(0) })
  .strict();

export const FleetEngineSnapshotSchema = z
  .object({
    nowMs: finite,
    produced: ProducedCountsSchema,
    devices: z.record(z.string(), DeviceSnapshotSchema),
  })
  .strict();

/** A reading or event a device produced and still holds until its endpoint acknowledges it. */
export const HeldMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('telemetry'), device: z.string().min(1), payload: LocalTelemetrySchema }).strict(),
  z.object({ type: z.literal('event'), device: z.string().min(1), payload: DeviceEventSchema }).strict(),
]);

export const FleetSnapshotSchema = z
  .object({
    v: z.literal(1),
    engine: FleetEngineSnapshotSchema,
    /** Oldest first, per device in the order produced; republished on the next connection. */
    held: z.array(HeldMessageSchema),
  })
  .strict();

export type LuminaireModelSnapshot = z.infer<typeof LuminaireModelSnapshotSchema>;
export type ReportLedgerSnapshot = z.infer<typeof ReportLedgerSnapshotSchema>;
export type LuminaireSnapshot = z.infer<typeof LuminaireSnapshotSchema>;
export type ApModelSnapshot = z.infer<typeof ApModelSnapshotSchema>;
export type ApSnapshot = z.infer<typeof ApSnapshotSchema>;
export type ApReportLedger = z.infer<typeof ApReportLedgerSchema>;
export type DeviceSnapshot = z.infer<typeof DeviceSnapshotSchema>;
export type ProducedCounts = z.infer<typeof ProducedCountsSchema>;
export type FleetEngineSnapshot = z.infer<typeof FleetEngineSnapshotSchema>;
export type HeldMessage = z.infer<typeof HeldMessageSchema>;
export type FleetSnapshot = z.infer<typeof FleetSnapshotSchema>;

/** Parses a snapshot read from disk; the error names the path and the reason. */
export function parseFleetSnapshot(raw: unknown, source: string): FleetSnapshot {
  const r = FleetSnapshotSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : '(root)';
  throw new Error(`${source}: ${path}: ${issue?.message ?? 'invalid fleet snapshot'}`);
}
