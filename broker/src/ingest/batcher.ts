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
 * Collects the points of many messages into batches of up to `batchSize` points and writes up to
 * `concurrency` batches at a time. Group commit: while a write slot is free, what arrived in this
 * turn of the event loop is written at once (a lone gateway's PUBACK does not wait for a timer);
 * while every slot is busy, messages gather and go together when one frees, or sooner when a batch
 * fills. `flushIntervalMs` bounds the wait behind slow writes. Each message's promise settles with
 * the batch that carries it — that is what holds its PUBACK. Batches start in arrival order; with
 * more than one slot they may finish out of order, which the stores allow (a point is keyed by
 * series and timestamp, and energy is computed in timestamp order, not arrival order).
 */
export class Batcher {
  private queue: Pending[] = [];
  private queuedPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** batches cut and waiting for a write slot */
  private readonly ready: Array<{ batch: Pending[]; done: () => void }> = [];
  /** batches handed to the sink and not settled yet */
  private writing = 0;

  constructor(
    private readonly sink: (batch: Pending[]) => Promise<void>,
    private readonly batchSize: number,
    private readonly flushIntervalMs: number,
    private readonly concurrency = 2,
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
      else if (this.writing < this.concurrency) {
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
    const settled: Promise<void>[] = [];
    let current: Pending[] = [];
    let size = 0;
    const cut = () => {
      const batch = current;
      settled.push(new Promise<void>((done) => this.ready.push({ batch, done })));
      current = [];
      size = 0;
    };
    for (const p of this.queue) {
      if (size > 0 && size + p.points.length > this.batchSize) cut();
      current.push(p);
      size += p.points.length;
    }
    if (current.length) cut();
    this.queue = [];
    this.queuedPoints = 0;
    this.pump();
    return Promise.all(settled).then(() => undefined);
  }

  private pump(): void {
    while (this.writing < this.concurrency && this.ready.length > 0) {
      const { batch, done } = this.ready.shift()!;
      this.writing++;
      this.sink(batch)
        .catch(() => {
          // The sink settles every message itself (ingest.ts); a rejection here is a bug, and the
          // messages stay unacknowledged, so the gateways resend.
          for (const p of batch) p.reject(new Error('ingest: batch write failed unexpectedly'));
        })
        .finally(() => {
          this.writing--;
          done();
          if (this.ready.length > 0) this.pump();
          // What gathered behind the busy slots goes now, as one batch.
          else if (this.queue.length > 0) void this.flush();
        });
    }
  }
}

export type { Pending };
