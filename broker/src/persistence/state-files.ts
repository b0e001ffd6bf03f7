import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { syncDirectory } from './journal-writer';
import { type BrokerState, StateRecordSchema } from './broker-state';
import { decodeRecords, encodeRecord } from './record-codec';

/**
 * Files of a broker state directory:
 *   snapshot.jsonl          the whole state; its first record names the journal that continues it
 *   journal-NNNNNNNNNN.log  changes since; a compaction starts the next number, so a snapshot never
 *                           has to be combined with a journal it already contains
 *   LOCK                    pid of the broker that has the directory open
 */
export const SNAPSHOT_FILE = 'snapshot.jsonl';
const SNAPSHOT_FORMAT = 1;
const JOURNAL_NAME = /^journal-(\d{10})\.log$/;

export function journalPath(dir: string, generation: number): string {
  return join(dir, `journal-${String(generation).padStart(10, '0')}.log`);
}

const SnapshotHeaderSchema = z.object({
  op: z.literal('snapshot'),
  format: z.literal(SNAPSHOT_FORMAT),
  /** the journal generation that continues this snapshot */
  journal: z.number().int().min(0),
  writtenAt: z.string(),
});

/** The snapshot's lines, taken synchronously so they match the state at this instant. */
export function snapshotLines(state: BrokerState, journal: number): string[] {
  const header: z.infer<typeof SnapshotHeaderSchema> = {
    op: 'snapshot',
    format: SNAPSHOT_FORMAT,
    journal,
    writtenAt: new Date().toISOString(),
  };
  const lines = [encodeRecord(header)];
  for (const record of state.records()) lines.push(encodeRecord(record));
  return lines;
}

/** Writes the snapshot next to the old one, fsyncs it, renames it over, fsyncs the directory. */
export async function writeSnapshot(dir: string, lines: string[]): Promise<void> {
  const tmp = join(dir, `${SNAPSHOT_FILE}.tmp`);
  const handle = await open(tmp, 'w', 0o600);
  try {
    // In slices: one string of a large state could exceed V8's string length limit.
    for (let i = 0; i < lines.length; i += 1000) await handle.write(lines.slice(i, i + 1000).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, SNAPSHOT_FILE));
  await syncDirectory(dir);
}

async function journalGenerations(dir: string): Promise<number[]> {
  const generations: number[] = [];
  for (const name of await readdir(dir)) {
    const m = JOURNAL_NAME.exec(name);
    if (m) generations.push(Number(m[1]));
  }
  return generations.sort((a, b) => a - b);
}

/** Deletes journals a snapshot has absorbed. */
export async function removeJournalsBefore(dir: string, generation: number): Promise<void> {
  for (const g of await journalGenerations(dir)) if (g < generation) await rm(journalPath(dir, g), { force: true });
}

export interface LoadReport {
  /** highest journal generation seen (or the snapshot's): the next one is free */
  lastGeneration: number;
  snapshotRecords: number;
  journalRecords: number;
  /** files that ended in a torn or corrupt record, and what was cut */
  cut: Array<{ file: string; offset: number; droppedBytes: number; reason: string }>;
  /** records that were intact but could not be applied (schema or state mismatch) */
  skipped: Array<{ file: string; index: number; reason: string }>;
}

/**
 * Rebuilds `state` from the snapshot and the journals after it. Never throws for damaged content:
 * a torn or corrupt tail is cut (reported in `cut`), an inapplicable record is skipped (`skipped`);
 * only I/O errors reading the directory propagate.
 */
export async function loadState(dir: string, state: BrokerState): Promise<LoadReport> {
  const report: LoadReport = { lastGeneration: 0, snapshotRecords: 0, journalRecords: 0, cut: [], skipped: [] };
  let firstJournal = 0;
  const snapshot = await readFile(join(dir, SNAPSHOT_FILE)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (snapshot) {
    const decoded = decodeRecords(snapshot);
    noteCut(report, SNAPSHOT_FILE, snapshot.length, decoded);
    const header = SnapshotHeaderSchema.safeParse(decoded.records[0]);
    if (header.success) {
      firstJournal = header.data.journal;
      report.snapshotRecords = replay(state, decoded.records.slice(1), SNAPSHOT_FILE, report, 1);
    } else {
      // Without its header the snapshot cannot be placed relative to the journals: replay every journal.
      report.skipped.push({ file: SNAPSHOT_FILE, index: 0, reason: `not a snapshot header: ${describe(header.error)}` });
    }
  }
  report.lastGeneration = firstJournal;
  for (const g of await journalGenerations(dir)) {
    if (g < firstJournal) continue; // absorbed by the snapshot; the compaction was cut short before deleting it
    const file = journalPath(dir, g);
    const data = await readFile(file);
    const decoded = decodeRecords(data);
    noteCut(report, file, data.length, decoded);
    report.journalRecords += replay(state, decoded.records, file, report, 0);
    report.lastGeneration = g;
  }
  return report;
}

function replay(state: BrokerState, records: unknown[], file: string, report: LoadReport, firstIndex: number): number {
  let applied = 0;
  records.forEach((raw, i) => {
    const parsed = StateRecordSchema.safeParse(raw);
    if (!parsed.success) {
      report.skipped.push({ file, index: firstIndex + i, reason: describe(parsed.error) });
      return;
    }
    try {
      state.apply(parsed.data);
      applied++;
    } catch (err) {
      report.skipped.push({ file, index: firstIndex + i, reason: `${parsed.data.op}: ${(err as Error).message}` });
    }
  });
  return applied;
}

function noteCut(report: LoadReport, file: string, size: number, decoded: ReturnType<typeof decodeRecords>): void {
  if (decoded.problem)
    report.cut.push({ file, offset: decoded.validBytes, droppedBytes: size - decoded.validBytes, reason: decoded.problem.reason });
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`).join('; ');
}
