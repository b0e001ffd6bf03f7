import {
  PartialWriteError,
  retryWithBackoff,
  StoreWriteError,
  type BackoffOptions,
  type Point,
  type StoreWriter,
} from '@poste/telemetry-store';

/** How a batch of messages (each a list of points) left a delivery attempt. */
export type Delivery =
  /** every point was written or refused for good (and counted): the messages may be acknowledged */
  | { kind: 'settled' }
  /**
   * the store is unavailable: messages from index `from` on were neither written nor refused
   * (those before it were settled). A non-StoreWriteError (a bug) lands here too: never lost.
   */
  | { kind: 'unavailable'; from: number; error: unknown };

/** Where the outcome of every point goes (counters, dead letters); called exactly once per point. */
export interface DeliveryAccounting {
  /** `points` were written; `measurement` when the batch is of one measurement, else 'mixed' */
  written(count: number, measurement: string): void;
  /** these points were refused for good */
  refused(points: readonly Point[], detail: string): void;
  /** this many points of a batch were refused for good, the store did not say which */
  refusedUnidentified(count: number, detail: string, gateways: readonly string[]): void;
  /** a partial write happened (one per store answer) */
  partialWrite(written: number, refused: number): void;
  /** a store.write call failed and is retried after `delayMs` */
  retry(err: StoreWriteError, attempt: number, delayMs: number): void;
  /** latency of one store.write call */
  observeWrite(seconds: number, points: number): void;
}

export interface DeliverOptions {
  store: StoreWriter;
  /** the short retry of each store write before the batch counts as unavailable */
  backoff: Partial<BackoffOptions>;
  accounting: DeliveryAccounting;
}

/**
 * Writes the messages' points in one store write (with a short retry), and settles every point:
 * written, or refused for good — only the points the store refused (a PartialWriteError), or, when
 * the store refuses the batch as a whole, message by message so one bad message cannot take the
 * others with it. Counts are exact: each point is accounted once.
 */
export async function deliver(messages: readonly (readonly Point[])[], o: DeliverOptions): Promise<Delivery> {
  const all = messages.flat();
  if (all.length === 0) return { kind: 'settled' };
  try {
    await retryWithBackoff(() => timedWrite(all, o), o.backoff, o.accounting.retry);
    o.accounting.written(all.length, measurementOf(all));
    return { kind: 'settled' };
  } catch (err) {
    if (err instanceof PartialWriteError) {
      settlePartial(all, err, o.accounting);
      return { kind: 'settled' };
    }
    if (!(err instanceof StoreWriteError) || err.retryable) return { kind: 'unavailable', from: 0, error: err };
    if (messages.length > 1) {
      for (const [i, m] of messages.entries()) {
        const one = await deliver([m], o);
        if (one.kind === 'unavailable') return { kind: 'unavailable', from: i, error: one.error };
      }
      return { kind: 'settled' };
    }
    o.accounting.refused(all, err.message);
    return { kind: 'settled' };
  }
}

async function timedWrite(points: readonly Point[], o: DeliverOptions): Promise<void> {
  const started = performance.now();
  try {
    await o.store.write(points);
  } finally {
    o.accounting.observeWrite((performance.now() - started) / 1000, points.length);
  }
}

function settlePartial(all: readonly Point[], err: PartialWriteError, a: DeliveryAccounting): void {
  a.partialWrite(err.written, err.refused);
  const indices = err.refusedIndices;
  if (indices !== undefined && indices.length === err.refused) {
    const refusedSet = new Set(indices);
    const refused = indices.map((i) => all[i]).filter((p): p is Point => p !== undefined);
    const written = all.filter((_, i) => !refusedSet.has(i));
    a.written(written.length, measurementOf(written));
    a.refused(refused, err.message);
    return;
  }
  // InfluxDB says how many, not which: the counts stay exact, the dead letter names the gateways.
  a.written(err.written, measurementOf(all));
  a.refusedUnidentified(err.refused, err.message, [...new Set(all.map((p) => p.tags.gateway ?? ''))]);
}

function measurementOf(points: readonly Point[]): string {
  const first = points[0]?.measurement;
  return first !== undefined && points.every((p) => p.measurement === first) ? first : 'mixed';
}
