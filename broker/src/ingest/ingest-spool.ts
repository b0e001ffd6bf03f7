import { DiskSpool, type SpoolFullError } from '@poste/spool';
import { backoffDelay, type BackoffOptions, type Point } from '@poste/telemetry-store';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Delivery } from './deliver';

export interface IngestSpoolOptions {
  /** directory of the spool files (created if missing); one ingest per directory */
  dir: string;
  /** cap on the spool files; when reached, PUBACKs are held (back-pressure), nothing is dropped */
  maxBytes: number;
  /** backoff between drain attempts while the store stays down (real time); default 250 ms doubling to 5 s */
  drainBackoff?: Partial<BackoffOptions>;
}

export const IngestSpoolOptionsSchema = z.object({
  dir: z.string().min(1, 'a directory is required'),
  maxBytes: z
    .number()
    .int()
    .min(64 * 1024, 'at least 64 KiB'),
  drainBackoff: z
    .object({
      attempts: z.number().int().min(1),
      initialDelayMs: z.number().min(0),
      maxDelayMs: z.number().min(0),
      jitter: z.number().min(0).max(1),
    })
    .partial()
    .optional(),
});

const DEFAULT_DRAIN_BACKOFF: BackoffOptions = { attempts: Number.POSITIVE_INFINITY, initialDelayMs: 250, maxDelayMs: 5_000, jitter: 0.2 };

/** A spooled batch: the points of each message, kept apart so a permanent error can be pinned on one message. */
const PointSchema = z.object({
  measurement: z.enum(['luminaire', 'ap', 'event']),
  tags: z.record(z.string(), z.string()),
  fields: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  ts: z.number(),
});
const SpooledBatchSchema = z.object({ v: z.literal(1), messages: z.array(z.array(PointSchema)) });

export interface IngestSpoolHooks {
  /** writes a batch to the store (deliver.ts); drained batches report through the same accounting */
  deliver(messages: Point[][]): Promise<Delivery>;
  /** a spooled batch was settled (written or refused for good) */
  drained(points: number): void;
  /** a record could not be decoded (never expected: records are checksummed); it is skipped */
  unreadable(seq: number, detail: string): void;
}

/**
 * Ingest's own store-and-forward: batches the store could not take are appended here (fsynced
 * before the PUBACKs go out) and a drainer writes them to the store in order, acknowledging each
 * record once every point of it is written or refused for good. It resumes on start from what a
 * previous run left on disk. Overflow policy `refuse`: a full spool throws SpoolFullError and the
 * caller holds the PUBACKs until `waitForRoom` resolves.
 */
export class IngestSpool {
  readonly disk: DiskSpool;
  readonly #backoff: BackoffOptions;
  #running: Promise<void> | undefined;
  #closing = false;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #roomWaiters: Array<() => void> = [];
  /** the head record's messages already settled by an attempt that then found the store down */
  #progress: { seq: number; from: number } | undefined;
  #attempt = 0;

  constructor(
    options: IngestSpoolOptions,
    private readonly hooks: IngestSpoolHooks,
    private readonly logger: Logger,
  ) {
    const o = IngestSpoolOptionsSchema.parse(options);
    this.#backoff = { ...DEFAULT_DRAIN_BACKOFF, ...o.drainBackoff };
    // syncIntervalMs 0: every append is fsynced before it returns — a PUBACK sent after it is
    // durable against power loss, not only against the process being killed.
    this.disk = new DiskSpool({
      dir: o.dir,
      maxBytes: o.maxBytes,
      overflow: 'refuse',
      syncIntervalMs: 0,
      onWarning: (message) => logger.warn({ dir: o.dir }, message),
    });
    if (this.disk.depth > 0)
      logger.info({ dir: o.dir, batches: this.disk.depth }, 'ingest spool holds batches from a previous run; draining');
    this.#kick();
  }

  /** Batches not yet settled (the one being drained included). */
  get depth(): number {
    return this.disk.depth;
  }

  /**
   * Appends a batch behind everything spooled; durable (fsynced) when it returns. Throws
   * SpoolFullError when it does not fit now (`neededBytes` > maxBytes: never).
   */
  append(messages: readonly (readonly Point[])[]): void {
    const payload = Buffer.from(JSON.stringify({ v: 1, messages }));
    this.disk.append(payload);
    this.#kick();
  }

  /** Whether a record of this many bytes could ever fit. */
  fits(error: SpoolFullError): boolean {
    return error.neededBytes <= this.disk.stats().maxBytes;
  }

  /** Resolves when a record was settled (room may have been freed) or the spool is closing. */
  waitForRoom(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Stops draining (the write in flight finishes first) and closes the files; what is left drains on the next start. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#wakeRoomWaiters();
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.wake();
    }
    await this.#running;
    this.disk.close();
  }

  #kick(): void {
    if (this.#running || this.#closing || this.disk.depth === 0) return;
    this.#running = this.#drain()
      .catch((err: unknown) => this.logger.error({ err }, 'ingest spool drainer failed; restarting it'))
      .finally(() => {
        this.#running = undefined;
        // An append may have come in between the last empty read and here.
        if (!this.#closing && this.disk.depth > 0) this.#kick();
      });
  }

  async #drain(): Promise<void> {
    while (!this.#closing) {
      const [rec] = this.disk.readNext(1);
      if (rec === undefined) return;
      const parsed = SpooledBatchSchema.safeParse(safeJson(rec.payload));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        this.hooks.unreadable(rec.seq, issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'not JSON');
        this.#settled(rec.seq);
        continue;
      }
      const from = this.#progress?.seq === rec.seq ? this.#progress.from : 0;
      const messages = parsed.data.messages.slice(from);
      const outcome = await this.hooks.deliver(messages);
      if (outcome.kind === 'settled') {
        this.hooks.drained(messages.reduce((n, m) => n + m.length, 0));
        this.#settled(rec.seq);
        continue;
      }
      // The store is still down: remember what of this record is settled, retry it after a pause.
      this.#progress = { seq: rec.seq, from: from + outcome.from };
      this.disk.rewind();
      this.#attempt++;
      const delay = backoffDelay(this.#attempt, this.#backoff);
      this.logger.warn(
        { err: errorMessage(outcome.error), batches: this.disk.depth, retryInMs: Math.round(delay) },
        'store unavailable; spooled batches wait',
      );
      await this.#pause(delay);
    }
  }

  #settled(seq: number): void {
    this.disk.ack(seq);
    this.#progress = undefined;
    this.#attempt = 0;
    this.#wakeRoomWaiters();
  }

  #wakeRoomWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#sleep = undefined;
        resolve();
      };
      this.#sleep = { timer: setTimeout(wake, ms), wake };
    });
  }
}

function safeJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
