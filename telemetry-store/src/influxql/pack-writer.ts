import type { InfluxPoint } from './pending-marks';

/** Points per write request of packs. */
const POINTS_PER_REQUEST = 2_000;

/**
 * Writes the packs a read made (day-tier.ts, cell-tier.ts) behind the read: queued by id (a
 * municipality-day), a pack already queued is not queued twice, and at most `maxPoints` wait —
 * beyond, a pack is dropped and the next read of its day makes it again. The queue is written in
 * requests of up to 2,000 points, one request at a time: a read of 30 days of a programme queues
 * ~300 packs, written in one request instead of 300.
 */
export class PackWriter {
  private readonly queued = new Set<string>();
  private buffer: Array<{ id: string; points: readonly InfluxPoint[]; written?: () => void }> = [];
  private waiting = 0;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly send: (points: readonly InfluxPoint[]) => Promise<void>,
    private readonly maxPoints = 50_000,
  ) {}

  enqueue(id: string, points: readonly InfluxPoint[], written?: () => void): void {
    if (this.queued.has(id) || this.waiting + points.length > this.maxPoints) return;
    this.queued.add(id);
    this.waiting += points.length;
    this.buffer.push({ id, points, ...(written ? { written } : {}) });
    if (this.scheduled) return;
    this.scheduled = true;
    // Packs queued by the same read go out together.
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.buffer;
      this.buffer = [];
      for (let i = 0; i < batch.length; ) {
        const request: typeof batch = [];
        let n = 0;
        while (i < batch.length && (request.length === 0 || n + batch[i]!.points.length <= POINTS_PER_REQUEST)) {
          n += batch[i]!.points.length;
          request.push(batch[i++]!);
        }
        this.chain = this.chain.then(async () => {
          try {
            await this.send(request.flatMap((r) => r.points));
            for (const r of request) r.written?.();
          } catch {
            // A pack not written is made again by the next read of its day.
          } finally {
            for (const r of request) this.queued.delete(r.id);
            this.waiting -= n;
          }
        });
      }
    });
  }

  /** Resolves once every pack queued so far has been written or dropped. */
  async settled(): Promise<void> {
    while (this.scheduled || this.queued.size > 0) {
      await new Promise((r) => setImmediate(r));
      await this.chain;
    }
  }
}
