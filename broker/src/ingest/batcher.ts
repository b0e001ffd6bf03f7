import type { Point } from '@poste/telemetry-store';

/** Something that makes a batch durable (the store, or ingest's spool when the store cannot take it: ingest.ts). */
export interface BatchSink {
  /** Resolves once durable; rejects when it could not be made durable (the messages stay unacked). */
  write(points: readonly Point[]): Promise<void>;
}

interface Pending {
  points: Point[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Collects the points of many messages into batches of up to `batchSize` points. Group commit:
 * when no write is under way, what arrived in this turn of the event loop is written at once (a
 * lone gateway's PUBACK does not wait for a timer); while a write is under way, messages gather
 * and go together when it ends, or sooner when a batch fills. `flushIntervalMs` bounds the wait
 * behind a slow write. Each message's promise settles with the batch that carries it — that is
 * what holds its PUBACK. One flush at a time, in arrival order.
 */
export class Batcher {
  private queue: Pending[] = [];
  private queuedPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** batches handed to the sink and not settled yet */
  private writing = 0;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: (batch: Pending[]) => Promise<void>,
    private readonly batchSize: number,
    private readonly flushIntervalMs: number,
  ) {}

  get pendingPoints(): number {
    return this.queuedPoints;
  }

  add(points: Point[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ points, resolve, reject });
      this.queuedPoints += points.length;
      if (this.queuedPoints >= this.batchSize) void this.flush();
      else if (this.writing === 0) {
        this.immediate ??= setImmediate(() => {
          this.immediate = undefined;
          void this.flush();
        });
      } else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
    });
  }

  /** Writes everything queued so far; resolves when those batches settled. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    const batches: Pending[][] = [];
    let current: Pending[] = [];
    let size = 0;
    for (const p of this.queue) {
      if (size > 0 && size + p.points.length > this.batchSize) {
        batches.push(current);
        current = [];
        size = 0;
      }
      current.push(p);
      size += p.points.length;
    }
    if (current.length) batches.push(current);
    this.queue = [];
    this.queuedPoints = 0;
    for (const b of batches) {
      this.writing++;
      this.flushing = this.flushing
        .then(() => this.sink(b))
        .finally(() => {
          this.writing--;
          // What gathered behind this write goes now, as one batch.
          if (this.writing === 0 && this.queue.length > 0) void this.flush();
        });
    }
    return this.flushing;
  }
}

export type { Pending };
