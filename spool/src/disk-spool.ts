import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { decodeRecord, encodeRecord, HEADER_BYTES, MAX_RECORD_BYTES, scanRecords } from './record-format';

/**
 * What happens when an append would take the spool past `maxBytes`:
 * - `drop-oldest`: whole oldest segments are deleted, delivered or not, and reported through
 *   `onDrop` (telemetry: the newest readings matter more than the oldest after a long outage);
 * - `refuse`: the append throws `SpoolFullError` and the caller pushes back on its producer
 *   (commands, acks, events and ingest batches must never be dropped).
 */
export type OverflowPolicy = 'drop-oldest' | 'refuse';

export interface SpoolOptions {
  dir: string;
  /** Cap on the bytes the spool's segment files may take, headers included. */
  maxBytes: number;
  overflow: OverflowPolicy;
  /** A segment is closed and a new one started past this size. Default 4 MiB (capped at maxBytes / 4). */
  segmentBytes?: number;
  /**
   * fsync the segment being written at most this often (ms, real time) while it has unsynced data;
   * 0 = after every append. An append is safe against the process being killed as soon as it
   * returns (the kernel has it); fsync only matters for power loss, where a torn tail is cut on open.
   * Default 200 ms.
   */
  syncIntervalMs?: number;
  /** The acknowledgement cursor is written at most this often (ms). A crash replays at most that much. Default 100 ms. */
  cursorWriteIntervalMs?: number;
  onDrop?: (drop: { records: number; bytes: number; oldestAppendedAt: number }) => void;
  /** Recovery found something to repair (a torn tail, a corrupt cursor): said once, with what was done. */
  onWarning?: (message: string) => void;
  /** ms since the epoch for appendedAt; default Date.now */
  now?: () => number;
}

export class SpoolFullError extends Error {
  constructor(
    message: string,
    readonly neededBytes: number,
  ) {
    super(message);
    this.name = 'SpoolFullError';
  }
}

export interface SpoolRecord {
  seq: number;
  payload: Buffer;
  appendedAt: number;
}

export interface SpoolStats {
  /** records appended and not yet acknowledged (nor dropped) */
  depth: number;
  /** bytes of the segment files on disk */
  bytes: number;
  maxBytes: number;
  segments: number;
  /** appendedAt of the oldest unacknowledged record, or null when empty */
  oldestUnackedAt: number | null;
  appended: number;
  acked: number;
  dropped: number;
  droppedBytes: number;
  /** bytes cut from torn or corrupt tails when the spool was opened */
  repairedBytes: number;
  /** records handed out by readNext since open (replays included) */
  read: number;
}

interface Segment {
  firstSeq: number;
  count: number;
  bytes: number;
  path: string;
}

interface Position {
  seg: number;
  offset: number;
  seq: number;
}

const SEGMENT_SUFFIX = '.seg';
const CURSOR_FILE = 'cursor.json';
/** Replay reads this much of a segment at a time. */
const READ_AHEAD_BYTES = 256 * 1024;
const segName = (firstSeq: number): string => `${String(firstSeq).padStart(16, '0')}${SEGMENT_SUFFIX}`;

/**
 * An append-only, checksummed, segmented log on disk with an acknowledgement cursor: the
 * store-and-forward queue of the gateway agent and of ingest. Records are numbered from 1 (`seq`);
 * a consumer reads them in order with `readNext`, sends them, `ack`s them (in any order), and after
 * a reconnect `rewind`s to the first unacknowledged one. All I/O is synchronous on purpose: an
 * append that returned is in the kernel, so a SIGKILL cannot lose it, and nothing is held in memory
 * but a few numbers per segment, however long the outage.
 */
export class DiskSpool {
  readonly #opts: Required<Omit<SpoolOptions, 'onDrop' | 'onWarning'>> & Pick<SpoolOptions, 'onDrop' | 'onWarning'>;
  readonly #segments: Segment[] = [];
  #fd: number | null = null;
  #nextSeq = 1;
  /** every seq ≤ acked is delivered */
  #acked = 0;
  /** delivered seqs above `acked` (acks out of order); bounded by the consumer's in-flight window */
  readonly #ackedAbove = new Set<number>();
  #read: Position = { seg: 0, offset: 0, seq: 1 };
  /** the last position #locate found, to resume its scan instead of starting the segment over */
  #located: { seg: Segment; offset: number; seq: number } | null = null;
  #readFd: { seg: Segment; fd: number } | null = null;
  #window: { seg: Segment; start: number; buf: Buffer } | null = null;
  #dirty = false;
  #lastSync = 0;
  #syncTimer: NodeJS.Timeout | null = null;
  #cursorDirty = false;
  #lastCursorWrite = 0;
  #cursorTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #stats = { appended: 0, acked: 0, dropped: 0, droppedBytes: 0, repairedBytes: 0, read: 0 };

  constructor(options: SpoolOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`spool ${options.dir}: maxBytes must be positive`);
    this.#opts = {
      segmentBytes: Math.max(HEADER_BYTES + 1, Math.min(options.segmentBytes ?? 4 * 1024 * 1024, Math.floor(options.maxBytes / 4))),
      syncIntervalMs: 200,
      cursorWriteIntervalMs: 100,
      now: Date.now,
      ...options,
    };
    mkdirSync(this.#opts.dir, { recursive: true });
    this.#recover();
  }

  get dir(): string {
    return this.#opts.dir;
  }

  /** The seq the next append will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Every seq at or below this is acknowledged. */
  get ackedThrough(): number {
    return this.#acked;
  }

  /** Records not yet acknowledged (nor dropped). */
  get depth(): number {
    return Math.max(0, this.#nextSeq - 1 - this.#acked - this.#ackedAbove.size);
  }

  get bytes(): number {
    let b = 0;
    for (const s of this.#segments) b += s.bytes;
    return b;
  }

  /** Appends one record; returns its seq. Durable against a process kill once this returns. */
  append(payload: Uint8Array): number {
    return this.appendMany([payload]);
  }

  /** Appends records in one write; returns the seq of the last. All or none go in. */
  appendMany(payloads: readonly Uint8Array[]): number {
    this.#assertOpen();
    if (payloads.length === 0) return this.#nextSeq - 1;
    const now = this.#opts.now();
    const encoded = payloads.map((p) => {
      if (p.length > MAX_RECORD_BYTES)
        throw new SpoolFullError(
          `spool ${this.#opts.dir}: a record of ${p.length} bytes is over the ${MAX_RECORD_BYTES}-byte limit`,
          p.length,
        );
      return encodeRecord(p, now);
    });
    const size = encoded.reduce((n, b) => n + b.length, 0);
    this.#makeRoom(size);
    let active = this.#activeSegment();
    if (active.bytes > 0 && active.bytes + size > this.#opts.segmentBytes) active = this.#roll();
    const fd = this.#fd!;
    // writev may write less than asked on some file systems; finish the remainder explicitly.
    let written = writevSync(fd, encoded, active.bytes);
    if (written < size) {
      const all = Buffer.concat(encoded);
      while (written < size) written += writeSync(fd, all, written, size - written, active.bytes + written);
    }
    active.bytes += size;
    active.count += payloads.length;
    const last = this.#nextSeq + payloads.length - 1;
    this.#nextSeq = last + 1;
    this.#stats.appended += payloads.length;
    this.#dirty = true;
    this.#scheduleSync();
    return last;
  }

  /**
   * Up to `maxRecords` records (and about `maxBytes`) from the read position on, in seq order;
   * advances the read position. Empty when everything appended has been read.
   */
  readNext(maxRecords: number, maxBytes = Number.POSITIVE_INFINITY): SpoolRecord[] {
    this.#assertOpen();
    const out: SpoolRecord[] = [];
    let taken = 0;
    while (out.length < maxRecords && this.#read.seq < this.#nextSeq) {
      const seg = this.#segments[this.#read.seg];
      if (seg === undefined) break;
      if (this.#read.offset >= seg.bytes) {
        if (this.#read.seg >= this.#segments.length - 1) break;
        const next = this.#segments[this.#read.seg + 1]!;
        this.#read = { seg: this.#read.seg + 1, offset: 0, seq: next.firstSeq };
        continue;
      }
      const rec = this.#readAt(seg, this.#read.offset);
      if (rec === null) {
        // Cannot happen for what this process wrote; a segment damaged under us is skipped whole.
        this.#opts.onWarning?.(
          `spool ${this.#opts.dir}: unreadable record in ${seg.path} at ${this.#read.offset}; skipping the rest of that segment`,
        );
        this.#read.offset = seg.bytes;
        this.#read.seq = seg.firstSeq + seg.count;
        continue;
      }
      if (out.length > 0 && taken + rec.size > maxBytes) break;
      const seq = this.#read.seq;
      this.#read.offset += rec.size;
      this.#read.seq++;
      if (seq <= this.#acked || this.#ackedAbove.has(seq)) continue;
      out.push({ seq, payload: rec.payload, appendedAt: rec.appendedAt });
      taken += rec.size;
    }
    this.#stats.read += out.length;
    return out;
  }

  /** Moves the read position back to the first unacknowledged record (after a reconnect). */
  rewind(): void {
    this.#assertOpen();
    this.#read = this.#locate(this.#acked + 1);
  }

  /** Marks `seq` delivered. Segments whose every record is delivered are deleted. */
  ack(seq: number): void {
    this.#assertOpen();
    if (seq <= this.#acked || seq >= this.#nextSeq || this.#ackedAbove.has(seq)) return;
    this.#stats.acked++;
    if (seq === this.#acked + 1) {
      this.#acked = seq;
      while (this.#ackedAbove.delete(this.#acked + 1)) this.#acked++;
    } else {
      this.#ackedAbove.add(seq);
    }
    this.#releaseDelivered();
    this.#cursorDirty = true;
    this.#scheduleCursorWrite();
  }

  /** Acknowledges every seq up to and including `seq`. */
  ackThrough(seq: number): void {
    for (let s = this.#acked + 1; s <= Math.min(seq, this.#nextSeq - 1); s++) this.ack(s);
  }

  /** The oldest unacknowledged record's appendedAt, or null. */
  oldestUnackedAt(): number | null {
    if (this.depth === 0) return null;
    const pos = this.#locate(this.#acked + 1);
    const seg = this.#segments[pos.seg];
    if (seg === undefined || pos.offset >= seg.bytes) return null;
    return this.#readAt(seg, pos.offset)?.appendedAt ?? null;
  }

  stats(): SpoolStats {
    return {
      depth: this.depth,
      bytes: this.bytes,
      maxBytes: this.#opts.maxBytes,
      segments: this.#segments.length,
      oldestUnackedAt: this.oldestUnackedAt(),
      ...this.#stats,
    };
  }

  /** fsyncs the segment being written (the power-loss guarantee; appends are already kill-safe). */
  sync(): void {
    if (this.#fd !== null && this.#dirty) {
      fsyncSync(this.#fd);
      this.#dirty = false;
      this.#lastSync = Date.now();
    }
  }

  close(): void {
    if (this.#closed) return;
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    if (this.#cursorTimer) clearTimeout(this.#cursorTimer);
    this.sync();
    this.#writeCursor();
    if (this.#fd !== null) closeSync(this.#fd);
    if (this.#readFd) closeSync(this.#readFd.fd);
    this.#fd = null;
    this.#readFd = null;
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`spool ${this.#opts.dir} is closed`);
  }

  #recover(): void {
    const dir = this.#opts.dir;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .map((f) => ({ f, firstSeq: Number(f.slice(0, -SEGMENT_SUFFIX.length)) }))
      .filter((x) => Number.isSafeInteger(x.firstSeq) && x.firstSeq > 0)
      .sort((a, b) => a.firstSeq - b.firstSeq);
    let cursor = 0;
    let cursorKnown = false;
    try {
      const raw: unknown = JSON.parse(readFileSync(join(dir, CURSOR_FILE), 'utf8'));
      const acked = (raw as { acked?: unknown } | null)?.acked;
      if (typeof acked === 'number' && Number.isSafeInteger(acked) && acked >= 0) {
        cursor = acked;
        cursorKnown = true;
      } else {
        this.#opts.onWarning?.(
          `spool ${dir}: ${CURSOR_FILE} is not a valid cursor; replaying everything in the spool (duplicates downstream rather than loss)`,
        );
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#opts.onWarning?.(`spool ${dir}: ${CURSOR_FILE} unreadable (${(err as Error).message}); replaying everything in the spool`);
      }
    }
    for (const [i, { f, firstSeq }] of files.entries()) {
      const path = join(dir, f);
      const buf = readFileSync(path);
      const scan = scanRecords(buf);
      if (scan.stoppedBy !== null) {
        const cut = buf.length - scan.validBytes;
        this.#stats.repairedBytes += cut;
        const where = i === files.length - 1 ? 'torn tail' : 'damaged segment (not the last)';
        this.#opts.onWarning?.(
          `spool ${dir}: ${where} in ${f}: ${scan.stoppedBy} record at byte ${scan.validBytes}; cut ${cut} bytes, kept ${scan.appendedAt.length} records`,
        );
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, scan.validBytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      this.#segments.push({ firstSeq, count: scan.appendedAt.length, bytes: scan.validBytes, path });
    }
    const last = this.#segments.at(-1);
    this.#nextSeq = last ? Math.max(last.firstSeq + last.count, cursor + 1) : cursor + 1;
    const first = this.#segments[0];
    // Without a cursor, everything still on disk is undelivered.
    this.#acked = cursorKnown ? cursor : first ? first.firstSeq - 1 : this.#nextSeq - 1;
    if (first && this.#acked < first.firstSeq - 1) this.#acked = first.firstSeq - 1;
    this.#releaseDelivered();
    // Empty leftovers (a segment cut to nothing) go, except that the last may be reused.
    for (let i = this.#segments.length - 2; i >= 0; i--) {
      const s = this.#segments[i]!;
      if (s.count === 0) {
        unlinkSync(s.path);
        this.#segments.splice(i, 1);
      }
    }
    this.#read = this.#locate(this.#acked + 1);
  }

  #activeSegment(): Segment {
    const last = this.#segments.at(-1);
    if (last && this.#fd !== null) return last;
    if (last && last.firstSeq + last.count === this.#nextSeq && last.bytes < this.#opts.segmentBytes) {
      this.#fd = openSync(last.path, 'r+');
      return last;
    }
    return this.#roll();
  }

  #roll(): Segment {
    if (this.#fd !== null) {
      if (this.#dirty) fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#dirty = false;
    }
    const seg: Segment = { firstSeq: this.#nextSeq, count: 0, bytes: 0, path: join(this.#opts.dir, segName(this.#nextSeq)) };
    this.#fd = openSync(seg.path, 'w+');
    this.#segments.push(seg);
    return seg;
  }

  #makeRoom(size: number): void {
    const max = this.#opts.maxBytes;
    if (size > max) throw new SpoolFullError(`spool ${this.#opts.dir}: ${size} bytes do not fit in a ${max}-byte spool`, size);
    if (this.bytes + size <= max) return;
    if (this.#opts.overflow === 'refuse') {
      throw new SpoolFullError(`spool ${this.#opts.dir} is full (${this.bytes} of ${max} bytes, ${this.depth} records undelivered)`, size);
    }
    let records = 0;
    let bytes = 0;
    let oldest = Number.NaN;
    while (this.bytes + size > max && this.#segments.length > 0) {
      // The segment being written goes last: close it so the append starts a fresh one.
      if (this.#segments.length === 1 && this.#fd !== null) {
        closeSync(this.#fd);
        this.#fd = null;
      }
      const seg = this.#segments[0]!;
      const lastSeq = seg.firstSeq + seg.count - 1;
      let undelivered = 0;
      for (let s = Math.max(seg.firstSeq, this.#acked + 1); s <= lastSeq; s++) if (!this.#ackedAbove.has(s)) undelivered++;
      if (undelivered > 0 && Number.isNaN(oldest)) oldest = this.#firstAppendedAt(seg);
      records += undelivered;
      bytes += seg.bytes;
      this.#dropSegment();
      for (const s of this.#ackedAbove) if (s <= lastSeq) this.#ackedAbove.delete(s);
      if (lastSeq > this.#acked) this.#acked = lastSeq;
    }
    this.#cursorDirty = true;
    this.#writeCursor();
    this.#read = this.#read.seq <= this.#acked ? this.#locate(this.#acked + 1) : this.#locate(this.#read.seq);
    if (records > 0) {
      this.#stats.dropped += records;
      this.#stats.droppedBytes += bytes;
      this.#opts.onDrop?.({ records, bytes, oldestAppendedAt: oldest });
    }
  }

  #firstAppendedAt(seg: Segment): number {
    return seg.bytes > 0 ? (this.#readAt(seg, 0)?.appendedAt ?? Number.NaN) : Number.NaN;
  }

  /** Deletes leading segments whose every record is acknowledged (never the one being written). */
  #releaseDelivered(): void {
    let released = false;
    while (this.#segments.length > 1) {
      const seg = this.#segments[0]!;
      if (seg.firstSeq + seg.count - 1 > this.#acked) break;
      this.#dropSegment();
      released = true;
    }
    if (released) this.#read = this.#locate(Math.max(this.#read.seq, this.#acked + 1));
  }

  #dropSegment(): void {
    const seg = this.#segments.shift()!;
    if (this.#readFd?.seg === seg) {
      closeSync(this.#readFd.fd);
      this.#readFd = null;
    }
    if (this.#window?.seg === seg) this.#window = null;
    unlinkSync(seg.path);
  }

  /**
   * The record at `offset` of `seg`, or null when it is not whole and valid. Reads go through a
   * read-ahead window (segments are append-only, so bytes once read never change) to make replay
   * a few large reads instead of two small ones per record.
   */
  #readAt(seg: Segment, offset: number): { payload: Buffer; appendedAt: number; size: number } | null {
    const w = this.#window;
    if (w !== null && w.seg === seg && offset >= w.start && offset + HEADER_BYTES <= w.start + w.buf.length) {
      const r = decodeRecord(w.buf, offset - w.start);
      if (r.ok) return r.record;
      if (r.reason === 'corrupt') return null;
      // truncated within the window: the record runs past it, read a fresh window below
    }
    if (this.#readFd?.seg !== seg) {
      if (this.#readFd) closeSync(this.#readFd.fd);
      this.#readFd = { seg, fd: openSync(seg.path, 'r') };
    }
    const fd = this.#readFd.fd;
    const head = Buffer.allocUnsafe(HEADER_BYTES);
    if (readSync(fd, head, 0, HEADER_BYTES, offset) < HEADER_BYTES) return null;
    const length = head.readUInt32LE(0);
    if (length > MAX_RECORD_BYTES || offset + HEADER_BYTES + length > seg.bytes) return null;
    const want = Math.min(seg.bytes - offset, Math.max(READ_AHEAD_BYTES, HEADER_BYTES + length));
    const buf = Buffer.allocUnsafe(want);
    const got = readSync(fd, buf, 0, want, offset);
    this.#window = { seg, start: offset, buf: buf.subarray(0, got) };
    const r = decodeRecord(this.#window.buf, 0);
    return r.ok ? r.record : null;
  }

  /** The position of record `seq` (or of the end, when seq is past the last record). */
  #locate(seq: number): Position {
    for (let i = 0; i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      if (seq >= seg.firstSeq + seg.count && i < this.#segments.length - 1) continue;
      let offset = 0;
      let s = seg.firstSeq;
      if (seq <= s) return { seg: i, offset: 0, seq: s };
      const hint = this.#located;
      if (hint !== null && hint.seg === seg && hint.seq <= seq) {
        offset = hint.offset;
        s = hint.seq;
      }
      while (s < seq && offset < seg.bytes) {
        const rec = this.#readAt(seg, offset);
        if (rec === null) break;
        offset += rec.size;
        s++;
      }
      this.#located = { seg, offset, seq: s };
      return { seg: i, offset, seq: s };
    }
    return { seg: 0, offset: 0, seq: this.#nextSeq };
  }

  #scheduleSync(): void {
    const every = this.#opts.syncIntervalMs;
    if (every <= 0) {
      this.sync();
      return;
    }
    if (this.#syncTimer !== null) return;
    const wait = Math.max(0, every - (Date.now() - this.#lastSync));
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      if (!this.#closed) this.sync();
    }, wait);
    this.#syncTimer.unref();
  }

  #scheduleCursorWrite(): void {
    if (this.#cursorTimer !== null) return;
    const wait = Math.max(0, this.#opts.cursorWriteIntervalMs - (Date.now() - this.#lastCursorWrite));
    this.#cursorTimer = setTimeout(() => {
      this.#cursorTimer = null;
      if (!this.#closed) this.#writeCursor();
    }, wait);
    this.#cursorTimer.unref();
  }

  /** Atomic replace (write temp, rename): a crash leaves the old cursor or the new, never half of one. */
  #writeCursor(): void {
    if (!this.#cursorDirty) return;
    const path = join(this.#opts.dir, CURSOR_FILE);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${JSON.stringify({ acked: this.#acked })}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    this.#cursorDirty = false;
    this.#lastCursorWrite = Date.now();
  }
}

/** Bytes a spool directory takes on disk (for reports), 0 when it does not exist. */
export function spoolDirBytes(dir: string): number {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}
