/**
 * The city's checkpoint (`city-checkpoint.json`: the simulated clock and the whole device fleet in
 * ONE file, so they can never disagree) and the ground truth derived from it at the same instant
 * (`ground-truth.json`). Both are written atomically: temp file, fsync, rename, fsync of the
 * directory. The fleet publishes a step's readings only after the checkpoint holding them is
 * durable, so after a SIGKILL the city resumes from a state no published reading contradicts.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { FleetSnapshotSchema, type FleetSnapshot, type GroundTruth } from '@poste/simulators';
import { z } from 'zod';

export const CHECKPOINT_FILE = 'city-checkpoint.json';
export const GROUND_TRUTH_FILE = 'ground-truth.json';

const CityCheckpointSchema = z
  .object({
    v: z.literal(1),
    /** Sim instant the devices reached; the clock resumes here. */
    simTimeMs: z.number().finite(),
    /** Seed of the scenario the fleet was generated from: another scenario cannot resume it. */
    seed: z.number().int(),
    fleet: FleetSnapshotSchema,
  })
  .strict();
export type CityCheckpoint = z.infer<typeof CityCheckpointSchema>;

const count = z.number().int().min(0);
const classBytes = z.object({ household: count, telemedicine: count, public: count }).strict();
export const GroundTruthFileSchema = z
  .object({
    /** Readings and events the devices produced (and sent, or still hold to send), by store measurement. */
    points: z.object({ luminaire: count, ap: count, event: count }).strict(),
    /**
     * Wh consumed between each luminaire's first and last reading: what a store can measure from
     * the cumulative counters (sum of positive deltas), unrounded.
     */
    energyWh: z.number().min(0),
    /** Wh consumed since the scenario started, including before each luminaire's first reading. */
    energyWhSinceStart: z.number().min(0),
    /**
     * Wh the replaced sodium lamps would have used over the hours each luminaire was lit between its
     * first and last reading (the retrofit baseline); savings = baselineWh − energyWh. Absent in
     * files written before it was kept.
     */
    baselineWh: z.number().min(0).optional(),
    /**
     * What the APs' reported counters measure (reset-aware deltas, the first reading contributing
     * nothing): bytes per class, telemedicine sessions, the reserve's measured and honoured seconds.
     * A store must hold exactly these. Absent in files written before it was kept.
     */
    wifi: z
      .object({ bytes: classBytes, sessions: count, reserveMeasuredS: z.number().min(0), reserveHonouredS: z.number().min(0) })
      .strict()
      .optional(),
    /** Readings and events the devices still hold unacknowledged (sent on the next start). */
    heldByDevices: count,
    perDevice: z.record(z.string(), z.object({ points: count, energyWh: z.number().min(0).optional() }).strict()),
    simTimeMs: z.number().finite(),
    /** The checkpoint's sim instant, ISO 8601. */
    asOf: z.string(),
  })
  .strict();
export type GroundTruthFile = z.infer<typeof GroundTruthFileSchema>;

function zodMessage(source: string, err: z.ZodError): string {
  const issue = err.issues[0];
  return `${source}: ${issue?.path.length ? issue.path.join('.') : '(root)'}: ${issue?.message ?? 'invalid'}`;
}

/** The checkpoint in `dataDir`, or undefined when there is none; a damaged one is an error (the message names it). */
export async function readCityCheckpoint(dataDir: string): Promise<CityCheckpoint | undefined> {
  const file = join(dataDir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON: ${(err as Error).message}`);
  }
  const r = CityCheckpointSchema.safeParse(raw);
  if (!r.success) throw new Error(zodMessage(file, r.error));
  return r.data;
}

export async function readGroundTruth(dataDir: string): Promise<GroundTruthFile> {
  const file = join(dataDir, GROUND_TRUTH_FILE);
  const r = GroundTruthFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')) as unknown);
  if (!r.success) throw new Error(zodMessage(file, r.error));
  return r.data;
}

/** The ground truth file's content for a fleet snapshot and the engine's truth at the same instant. */
export function groundTruthOf(fleet: FleetSnapshot, truth: GroundTruth): GroundTruthFile {
  const perDevice: GroundTruthFile['perDevice'] = {};
  for (const [id, d] of Object.entries(fleet.engine.devices)) {
    perDevice[id] =
      d.kind === 'luminaire' ? { points: d.ledger.reports, energyWh: d.ledger.lastTruthWh - d.ledger.firstTruthWh } : { points: d.reports };
  }
  return {
    points: { ...fleet.engine.produced },
    energyWh: truth.total.exactWhBetweenReports,
    energyWhSinceStart: truth.total.exactWh,
    baselineWh: truth.total.baselineWhBetweenReports,
    wifi: structuredClone(truth.wifi),
    heldByDevices: fleet.held.length,
    perDevice,
    simTimeMs: fleet.engine.nowMs,
    asOf: new Date(fleet.engine.nowMs).toISOString(),
  };
}

/** temp + fsync + rename + fsync(dir): after a crash the file is the old one or the new one, whole. */
async function writeAtomic(dir: string, name: string, content: string): Promise<void> {
  const file = join(dir, name);
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Writes the checkpoint, then the ground truth of the same instant. A crash between the two leaves
 * the ground truth one checkpoint behind; the next start rewrites it from the checkpoint.
 */
export async function writeCityCheckpoint(dataDir: string, seed: number, fleet: FleetSnapshot, truth: GroundTruth): Promise<void> {
  const checkpoint: CityCheckpoint = { v: 1, simTimeMs: fleet.engine.nowMs, seed, fleet };
  await writeAtomic(dataDir, CHECKPOINT_FILE, JSON.stringify(checkpoint));
  await writeGroundTruth(dataDir, groundTruthOf(fleet, truth));
}

export async function writeGroundTruth(dataDir: string, gt: GroundTruthFile): Promise<void> {
  await writeAtomic(dataDir, GROUND_TRUTH_FILE, `${JSON.stringify(gt, null, 1)}\n`);
}
