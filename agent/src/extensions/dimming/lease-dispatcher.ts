// The sending side of the dimming runner: a queue of luminaires whose level must go out, at most
// `maxInFlight` commands awaiting their ack, and per-luminaire leases. The level is read when a
// command leaves, not when it is queued, so a luminaire that changes twice while waiting gets one
// command with the latest level.
import type { Logger } from 'pino';
import type { Clock, CommandAction, DeviceAck } from '@poste/protocol';

export interface DispatchDeps {
  clock: Clock;
  log: Logger;
  /** The level the engine last decided for a luminaire (NaN = none yet). */
  levelOf(index: number): number;
  idOf(index: number): string;
  send(deviceId: string, action: CommandAction, expiresAt: number): Promise<DeviceAck>;
}

export interface DispatchLimits {
  leaseMs: number;
  refreshBeforeMs: number;
  retryAfterMs: number;
  maxInFlight: number;
}

export interface DispatchStats {
  sent: number;
  acked: number;
  failed: number;
  refreshes: number;
  inFlight: number;
  queued: number;
}

const NOT_QUEUED = 0;
const QUEUED = 1;

function grow<T extends Float64Array | Uint8Array>(a: T, size: number, fill = 0): T {
  if (a.length >= size) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(size, a.length * 2));
  next.set(a);
  next.fill(fill, a.length);
  return next;
}

export class LeaseDispatcher {
  readonly #d: DispatchDeps;
  readonly #limits: DispatchLimits;
  /** When to resend the level in force (sim ms); Infinity = nothing to refresh. */
  #refreshAt = new Float64Array(0);
  #online = new Uint8Array(0);
  #queued = new Uint8Array(0);
  #busy = new Uint8Array(0);
  /** A change arrived while this luminaire's previous command was still in flight. */
  #again = new Uint8Array(0);
  #queue: number[] = [];
  #head = 0;
  #inFlight = 0;
  #closed = false;
  readonly #stats = { sent: 0, acked: 0, failed: 0, refreshes: 0 };

  constructor(deps: DispatchDeps, limits: DispatchLimits) {
    this.#d = deps;
    this.#limits = limits;
  }

  /** Makes room for luminaire indices below `n`. */
  ensure(n: number): void {
    this.#refreshAt = grow(this.#refreshAt, n, Number.POSITIVE_INFINITY);
    this.#online = grow(this.#online, n);
    this.#queued = grow(this.#queued, n);
    this.#busy = grow(this.#busy, n);
    this.#again = grow(this.#again, n);
  }

  setOnline(index: number, online: boolean): void {
    this.ensure(index + 1);
    this.#online[index] = online ? 1 : 0;
  }

  /** Queues a luminaire; its current level is read when the command leaves. */
  enqueue(index: number): void {
    if (this.#closed || this.#queued[index] === QUEUED) return;
    this.#queued[index] = QUEUED;
    this.#queue.push(index);
  }

  /** Queues every luminaire whose lease is due for renewal (or whose last command failed and is due a retry). */
  queueRefreshes(n: number, nowMs: number): void {
    const refreshAt = this.#refreshAt;
    for (let i = 0; i < n; i++) {
      if ((refreshAt[i] as number) > nowMs || this.#online[i] === 0 || this.#queued[i] === QUEUED || this.#busy[i] === 1) continue;
      this.#stats.refreshes++;
      this.enqueue(i);
    }
  }

  /** Sends from the queue while fewer than maxInFlight commands await their ack. */
  pump(): void {
    while (!this.#closed && this.#inFlight < this.#limits.maxInFlight && this.#head < this.#queue.length) {
      const i = this.#queue[this.#head++] as number;
      this.#queued[i] = NOT_QUEUED;
      if (this.#busy[i] === 1) {
        this.#again[i] = 1; // one command per luminaire at a time, so levels never arrive out of order
        continue;
      }
      this.#sendOne(i);
    }
    // Compact once the consumed prefix dominates, so the queue does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #sendOne(i: number): void {
    if (this.#online[i] === 0) {
      // Sent when it comes back online; nothing to refresh until then.
      this.#refreshAt[i] = Number.POSITIVE_INFINITY;
      return;
    }
    const level = this.#d.levelOf(i);
    if (Number.isNaN(level)) return;
    const now = this.#d.clock.now();
    const until = now + this.#limits.leaseMs;
    const id = this.#d.idOf(i);
    this.#busy[i] = 1;
    this.#inFlight++;
    this.#stats.sent++;
    this.#d
      .send(id, { action: 'dim', level, until }, until)
      .then((ack) => this.#settled(i, id, level, until, ack))
      .catch((err: unknown) =>
        this.#settled(i, id, level, until, { v: 1, id: '-', outcome: 'failed', ts: now, detail: String((err as Error)?.message ?? err) }),
      );
  }

  #settled(i: number, id: string, level: number, until: number, ack: DeviceAck): void {
    this.#busy[i] = 0;
    this.#inFlight--;
    if (ack.outcome === 'done') {
      this.#stats.acked++;
      this.#refreshAt[i] = until - this.#limits.refreshBeforeMs;
    } else {
      this.#stats.failed++;
      this.#refreshAt[i] = this.#d.clock.now() + this.#limits.retryAfterMs;
      if (!this.#closed) this.#d.log.warn({ device: id, level, outcome: ack.outcome, detail: ack.detail }, 'dimming command failed');
    }
    if (this.#again[i] === 1) {
      this.#again[i] = 0;
      this.enqueue(i);
    }
    this.pump();
  }

  stats(): DispatchStats {
    return { ...this.#stats, inFlight: this.#inFlight, queued: this.#queue.length - this.#head };
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#head = 0;
  }
}
