/** Milliseconds since some origin; tests pass a manual clock. */
export type Now = () => number;

/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. Used for login attempts per
 * address and for publishes per client (messages and bytes), so a short burst is fine and a
 * sustained rate above the limit is not.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: Now = Date.now,
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes `n` tokens if there are that many; a request larger than the burst can never pass. */
  take(n = 1): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.perSecond);
    this.#last = t;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Returns `n` tokens taken for something that turned out not to count (never above the burst). */
  refund(n = 1): void {
    this.#tokens = Math.min(this.burst, this.#tokens + n);
  }
}
