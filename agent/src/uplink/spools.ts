// The agent's two store-and-forward queues: `telemetry` (luminaire and AP readings; full → the
// oldest are dropped, counted and reported upstream) and `priority` (events and cloud acks; full →
// refused, the device is not acknowledged and resends). On disk with a data dir (`@poste/spool`);
// without one, in memory with the same bounds and a loud warning that nothing survives a restart.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DiskSpool, SpoolFullError, type OverflowPolicy, type SpoolRecord, type SpoolStats } from '@poste/spool';

/** What the delivery needs of a spool; `DiskSpool` has it, `MemorySpool` mirrors it. */
export interface RecordSpool {
  append(payload: Uint8Array): number;
  readNext(maxRecords: number): SpoolRecord[];
  rewind(): void;
  ack(seq: number): void;
  readonly depth: number;
  readonly bytes: number;
  stats(): SpoolStats;
  oldestUnackedAt(): number | null;
  close(): void;
}

export type SpoolName = 'telemetry' | 'priority';

export interface DropReport {
  records: number;
  bytes: number;
  oldestAppendedAt: number;
}

export interface SpoolSettings {
  telemetryMaxBytes: number;
  priorityMaxBytes: number;
}

export interface OpenedSpools {
  telemetry: RecordSpool;
  priority: RecordSpool;
  /** false = in memory: lost on restart */
  durable: boolean;
  /** `<dataDir>/spool`, or null in memory */
  dir: string | null;
}

/** Per-record bookkeeping a memory spool charges against its cap, like the disk format's header. */
const MEMORY_RECORD_OVERHEAD = 16;

interface MemoryRecord {
  seq: number;
  payload: Buffer;
  appendedAt: number;
  acked: boolean;
}

/**
 * The in-memory stand-in for `DiskSpool` (no data dir): same order, acknowledgement, rewind and
 * overflow semantics, same byte cap, so memory stays bounded; nothing survives the process.
 */
export class MemorySpool implements RecordSpool {
  readonly #records: MemoryRecord[] = [];
  /** index of the first live record in #records (compacted now and then, not shifted per ack) */
  #head = 0;
  /** index (into #records) of the next record readNext returns */
  #read = 0;
  #nextSeq = 1;
  #bytes = 0;
  #unacked = 0;
  readonly #stats = { appended: 0, acked: 0, dropped: 0, droppedBytes: 0, read: 0 };

  constructor(
    readonly name: string,
    readonly maxBytes: number,
    readonly overflow: OverflowPolicy,
    readonly onDrop: (drop: DropReport) => void,
    readonly now: () => number,
  ) {}

  append(payload: Uint8Array): number {
    const size = payload.length + MEMORY_RECORD_OVERHEAD;
    if (size > this.maxBytes)
      throw new SpoolFullError(`spool ${this.name}: ${size} bytes do not fit in a ${this.maxBytes}-byte spool`, size);
    if (this.#bytes + size > this.maxBytes) {
      if (this.overflow === 'refuse') {
        throw new SpoolFullError(
          `spool ${this.name} (memory) is full (${this.#bytes} of ${this.maxBytes} bytes, ${this.#unacked} records undelivered)`,
          size,
        );
      }
      this.#dropOldest(size);
    }
    const seq = this.#nextSeq++;
    this.#records.push({ seq, payload: Buffer.from(payload), appendedAt: this.now(), acked: false });
    this.#bytes += size;
    this.#unacked++;
    this.#stats.appended++;
    return seq;
  }

  readNext(maxRecords: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    while (out.length < maxRecords && this.#read < this.#records.length) {
      const r = this.#records[this.#read++]!;
      if (!r.acked) out.push({ seq: r.seq, payload: r.payload, appendedAt: r.appendedAt });
    }
    this.#stats.read += out.length;
    return out;
  }

  rewind(): void {
    this.#read = this.#head;
  }

  ack(seq: number): void {
    const first = this.#records[this.#head];
    if (first === undefined) return;
    const r = this.#records[this.#head + (seq - first.seq)];
    if (r === undefined || r.seq !== seq || r.acked) return;
    r.acked = true;
    this.#unacked--;
    this.#stats.acked++;
    this.#release();
  }

  get depth(): number {
    return this.#unacked;
  }

  get bytes(): number {
    return this.#bytes;
  }

  oldestUnackedAt(): number | null {
    for (let i = this.#head; i < this.#records.length; i++) if (!this.#records[i]!.acked) return this.#records[i]!.appendedAt;
    return null;
  }

  stats(): SpoolStats {
    return {
      depth: this.depth,
      bytes: this.#bytes,
      maxBytes: this.maxBytes,
      segments: 0,
      oldestUnackedAt: this.oldestUnackedAt(),
      repairedBytes: 0,
      ...this.#stats,
    };
  }

  close(): void {
    this.#records.length = 0;
    this.#head = 0;
    this.#read = 0;
    this.#bytes = 0;
    this.#unacked = 0;
  }

  /** Drops acknowledged records at the head, and compacts the array once half of it is dead. */
  #release(): void {
    while (this.#head < this.#records.length && this.#records[this.#head]!.acked) {
      this.#bytes -= this.#records[this.#head]!.payload.length + MEMORY_RECORD_OVERHEAD;
      this.#head++;
    }
    if (this.#read < this.#head) this.#read = this.#head;
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#records.splice(0, this.#head);
      this.#read -= this.#head;
      this.#head = 0;
    }
  }

  #dropOldest(incoming: number): void {
    let records = 0;
    let bytes = 0;
    let oldest = Number.NaN;
    while (this.#bytes + incoming > this.maxBytes && this.#head < this.#records.length) {
      const r = this.#records[this.#head]!;
      const size = r.payload.length + MEMORY_RECORD_OVERHEAD;
      if (!r.acked) {
        if (records === 0) oldest = r.appendedAt;
        records++;
        this.#unacked--;
        r.acked = true;
      }
      bytes += size;
      this.#bytes -= size;
      this.#head++;
    }
    if (this.#read < this.#head) this.#read = this.#head;
    this.#release();
    if (records > 0) {
      this.#stats.dropped += records;
      this.#stats.droppedBytes += bytes;
      this.onDrop({ records, bytes, oldestAppendedAt: oldest });
    }
  }
}

/**
 * Opens both spools under `<dataDir>/spool/` (or in memory without a data dir). `onDrop` hears
 * the telemetry spool dropping its oldest records; the priority spool refuses instead.
 */
export function openSpools(
  dataDir: string | undefined,
  settings: SpoolSettings,
  deps: { log: Logger; now: () => number; onDrop: (drop: DropReport) => void },
): OpenedSpools {
  const { log, now, onDrop } = deps;
  if (dataDir === undefined) {
    log.warn(
      { telemetryMaxBytes: settings.telemetryMaxBytes, priorityMaxBytes: settings.priorityMaxBytes },
      'no dataDir: device data is spooled in memory only and is NOT durable — a restart loses what the uplink has not delivered; set dataDir on a gateway',
    );
    return {
      telemetry: new MemorySpool('telemetry', settings.telemetryMaxBytes, 'drop-oldest', onDrop, now),
      priority: new MemorySpool('priority', settings.priorityMaxBytes, 'refuse', () => {}, now),
      durable: false,
      dir: null,
    };
  }
  const dir = join(dataDir, 'spool');
  const onWarning = (message: string): void => log.warn(message);
  const telemetry = new DiskSpool({
    dir: join(dir, 'telemetry'),
    maxBytes: settings.telemetryMaxBytes,
    overflow: 'drop-oldest',
    onDrop,
    onWarning,
    now,
  });
  let priority: DiskSpool;
  try {
    priority = new DiskSpool({ dir: join(dir, 'priority'), maxBytes: settings.priorityMaxBytes, overflow: 'refuse', onWarning, now });
  } catch (err) {
    telemetry.close();
    throw err;
  }
  const spools = { telemetry, priority, durable: true, dir };
  const waiting = telemetry.depth + priority.depth;
  if (waiting > 0)
    log.info(
      { telemetry: telemetry.depth, priority: priority.depth, dir },
      'spool holds undelivered records from a previous run; they are sent once the uplink is up',
    );
  return spools;
}
