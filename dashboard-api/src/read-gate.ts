/**
 * The gate every expensive store read goes through: at most `maxConcurrent` store queries at once,
 * at most `maxQueued` requests waiting for one, identical requests sharing one query (single
 * flight) and, for `cacheTtlMs`, its result. Each caller waits until its own deadline; a slot is
 * held until the store call settles, not until the caller gives up, so the number of queries
 * running against the store never exceeds the cap however many clients time out and retry.
 *
 * A slot also rests after each query, in proportion to how long the query ran (`readShare`): with
 * readShare 0.5 a query of 300 ms keeps its slot closed 300 ms more. Back-to-back expensive reads
 * therefore take at most that share of the store's time, and the rest is left to ingest. This
 * matters most on the embedded store, where reads and writes share one DuckDB connection.
 */

/** No slot and no room in the queue (or the deadline passed while queued): answer 503 + Retry-After. */
export class GateBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateBusyError';
  }
}

/** The caller's deadline passed while its query ran: answer 504; the query's result lands in the cache, if any. */
export class GateTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer from the store within ${timeoutMs} ms`);
    this.name = 'GateTimeoutError';
  }
}

export interface ReadGateOptions {
  maxConcurrent: number;
  maxQueued: number;
  cacheTtlMs: number;
  /**
   * After cacheTtlMs, an entry is still served for this many ms more while one refresh runs in the
   * background (stale-while-revalidate): a dashboard that many people poll never makes them all
   * wait behind the query that renews it. 0: an expired entry is never served.
   */
  staleMs: number;
  cacheEntries: number;
  /** (0, 1]: the share of wall-clock time one slot may spend in store queries; 1 = no rest */
  readShare: number;
  /** longest rest after one query, ms (a query that ran for minutes must not close its slot for minutes more) */
  maxRestMs: number;
  /** real-time ms for TTLs and deadlines (default performance.now) */
  now?: () => number;
}

export interface ReadGateEvents {
  /** a store query started / settled (for the in-flight gauge) */
  onStart?(): void;
  onSettle?(): void;
  onQueueChange?(queued: number): void;
  /** how a request was served: a fresh query, joined one in flight, or from the cache */
  onServed?(how: 'query' | 'shared' | 'cached' | 'stale'): void;
}

interface Waiter {
  start(): void;
  expire(): void;
  timer: NodeJS.Timeout;
}

export interface ReadGate {
  /**
   * `work` runs at most once per `key` at a time; callers with the same key share its result.
   * Rejects with GateBusyError, GateTimeoutError, or what `work` threw.
   */
  run<T>(key: string, timeoutMs: number, work: () => Promise<T>): Promise<T>;
  /** store queries running now */
  readonly active: number;
  readonly queued: number;
}

export function createReadGate(opts: ReadGateOptions, events: ReadGateEvents = {}): ReadGate {
  const now = opts.now ?? (() => performance.now());
  let active = 0;
  /** slots resting after a query: not running, not yet free */
  let resting = 0;
  const queue: Waiter[] = [];
  const flights = new Map<string, Promise<unknown>>();
  // Insertion-ordered: the first key is the oldest entry, evicted first when full.
  const cache = new Map<string, { value: unknown; expires: number }>();

  const freeSlot = () => {
    const next = queue.shift();
    if (next) {
      events.onQueueChange?.(queue.length);
      clearTimeout(next.timer);
      next.start();
    }
  };

  const release = (ranMs: number) => {
    active -= 1;
    events.onSettle?.();
    const restMs = Math.min(opts.maxRestMs, (ranMs * (1 - opts.readShare)) / opts.readShare);
    if (restMs < 1) {
      freeSlot();
      return;
    }
    resting += 1;
    // unref: a resting slot must not keep a stopping process alive.
    setTimeout(() => {
      resting -= 1;
      freeSlot();
    }, restMs).unref();
  };

  /** Resolves once a slot is held (the caller must release it), rejects GateBusyError. */
  const acquire = (timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (active + resting < opts.maxConcurrent) {
        active += 1;
        events.onStart?.();
        resolve();
        return;
      }
      if (queue.length >= opts.maxQueued) {
        reject(new GateBusyError(`${opts.maxConcurrent} expensive queries running and ${queue.length} waiting`));
        return;
      }
      const waiter: Waiter = {
        start: () => {
          active += 1;
          events.onStart?.();
          resolve();
        },
        expire: () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          events.onQueueChange?.(queue.length);
          reject(new GateBusyError(`waited ${timeoutMs} ms for one of ${opts.maxConcurrent} query slots`));
        },
        timer: setTimeout(() => waiter.expire(), timeoutMs),
      };
      queue.push(waiter);
      events.onQueueChange?.(queue.length);
    });

  const remember = (key: string, value: unknown) => {
    if (opts.cacheTtlMs <= 0) return;
    cache.delete(key);
    cache.set(key, { value, expires: now() + opts.cacheTtlMs });
    while (cache.size > opts.cacheEntries) cache.delete(cache.keys().next().value as string);
  };

  /** One store query for `key` through a slot; callers with the same key join it until it settles. */
  const startFlight = <T>(key: string, timeoutMs: number, work: () => Promise<T>): Promise<T> => {
    const flight = acquire(timeoutMs).then(async () => {
      const startedAt = now();
      try {
        const value = await work();
        remember(key, value);
        return value;
      } finally {
        release(now() - startedAt);
      }
    });
    flights.set(key, flight);
    // Whoever is still waiting has its own deadline; the map entry goes when the query settles.
    flight.then(
      () => flights.delete(key),
      () => flights.delete(key),
    );
    return flight;
  };

  const withDeadline = <T>(p: Promise<T>, timeoutMs: number): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GateTimeoutError(timeoutMs)), timeoutMs);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    run<T>(key: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
      const t = now();
      const hit = cache.get(key);
      if (hit && hit.expires > t) {
        events.onServed?.('cached');
        return Promise.resolve(hit.value as T);
      }
      if (hit && hit.expires + opts.staleMs > t) {
        // Stale but within bounds: answer now, renew once in the background. A refresh the gate
        // refuses (busy) or that fails leaves the entry to expire; the next caller tries again.
        if (!flights.has(key)) startFlight(key, timeoutMs, work).catch(() => undefined);
        events.onServed?.('stale');
        return Promise.resolve(hit.value as T);
      }
      if (hit) cache.delete(key);
      const shared = flights.get(key) as Promise<T> | undefined;
      if (shared) {
        events.onServed?.('shared');
        return withDeadline(shared, timeoutMs);
      }
      const flight = startFlight(key, timeoutMs, work);
      events.onServed?.('query');
      // The creator's deadline covers its wait in the queue plus the query. A wait that reaches it
      // rejects busy first: the queue's timer was set before this one, for the same delay.
      return withDeadline(flight, timeoutMs);
    },
  };
}
