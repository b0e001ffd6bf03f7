/**
 * Per-client publish rate with back-pressure: a token bucket (`perSecond` sustained, `burst` at
 * once). A publish over the rate is not refused at once: it is admitted when its token will be
 * there, and the LAN endpoint holds that packet until then — it reads no further packets from
 * that client meanwhile, so a device bursting after a reconnect is slowed, not dropped. A client
 * that would have to wait longer than `maxWaitMs` is flooding: refused (and disconnected).
 */
export class PublishRate {
  /** Keyed by the client object: a bucket goes with its connection. */
  readonly #buckets = new WeakMap<object, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxWaitMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Ms to wait before this publish may go through (0 = now), or null when it is over the bound. */
  admit(client: object): number | null {
    const t = this.now();
    const b = this.#buckets.get(client) ?? { tokens: this.burst, at: t };
    // Refill since the last admission; tokens may be negative: publishes already promised a later slot.
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) * this.perSecond) / 1_000);
    b.at = t;
    const wait = b.tokens >= 1 ? 0 : ((1 - b.tokens) * 1_000) / this.perSecond;
    if (wait > this.maxWaitMs) {
      this.#buckets.set(client, b);
      return null;
    }
    b.tokens -= 1;
    this.#buckets.set(client, b);
    return wait;
  }
}
