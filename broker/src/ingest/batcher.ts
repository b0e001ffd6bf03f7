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
 * Collects the points of many messages into batches of up to `batchSize` points, flushed when full
 * or `flushIntervalMs` after the first point arrived. Each message's promise settles with the batch
 * that carries it — that is what holds its PUBACK. One flush at a time, in arrival order.
 */
export class Batcher {
  private queue: Pending[] = [];
  private queuedPoints = 0;
  private timer: NodeJS.Timeout | undefined;
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
      else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
    });
  }

  /** Writes everything queued so far; resolves when those batches settled. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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
    for (const b of batches) this.flushing = this.flushing.then(() => this.sink(b));
    return this.flushing;
  }
}

export type { Pending };
