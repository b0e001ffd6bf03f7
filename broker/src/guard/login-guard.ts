import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal, VerifyResult } from '../credentials/store';
import { BoundedMap } from './bounded-map';
import { TokenBucket, type Now } from './token-bucket';

export interface LoginGuardConfig {
  /** password checks (scrypt, ~16 MiB and tens of ms each) running at once */
  maxConcurrentChecks: number;
  /** checks waiting for a slot; past it a login is refused at once (CONNACK 3, retry later) */
  maxQueuedChecks: number;
  /** password checks one address may start: burst, then per second */
  perAddressBurst: number;
  perAddressPerSecond: number;
  /** consecutive failures from one address before it is made to wait */
  backoffAfterFailures: number;
  /** first wait; doubles with each further failure up to backoffMaxMs */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** recent successful logins remembered (username + SHA-256 of the password), and for how long */
  cacheEntries: number;
  cacheTtlMs: number;
  /** addresses whose rate and failures are tracked (least recently seen forgotten first) */
  trackedAddresses: number;
}

/** A login refused by the guard itself, before or instead of the password check. */
export type GuardRefusal = 'login-backoff' | 'login-rate-limited' | 'login-busy' | 'login-abandoned';
export type LoginResult = (VerifyResult & { cached?: boolean }) | { ok: false; reason: GuardRefusal };

interface AddressState {
  bucket: TokenBucket;
  failures: number;
  blockedUntil: number;
}

interface CacheEntry {
  digest: Buffer;
  principal: Principal;
  expires: number;
}

/** A remembered success as it is exported (to survive a restart) and imported again. */
export interface RememberedLogin {
  username: string;
  /** the cache digest of the password (see LoginCacheOptions.digest), hex */
  digest: string;
  principal: Principal;
  /** wall-clock ms */
  expires: number;
}

export interface LoginCacheOptions {
  /**
   * What the cache compares: a digest of `password` for `username`, or undefined to cache nothing
   * for that user. Default SHA-256 of the password. The broker keys it with the user's stored
   * hash, so a password changed while the broker was down misses the cache instead of passing.
   */
  digest?: (username: string, password: Buffer) => Buffer | undefined;
  /** called after the cache changed (a success remembered, the cache cleared), e.g. to save it */
  onChange?: () => void;
}

/**
 * Keeps logins from starving the broker. A flood of wrong passwords used to run scrypt for every
 * CONNECT (100 % CPU, a valid login waiting > 30 s while agents give up after 10 s). Now:
 *  1. a recent success for the same username and password is answered from memory (no scrypt),
 *     so known gateways reconnect at once whatever else is going on;
 *  2. an address that keeps failing waits, exponentially longer, and is refused without a check;
 *  3. each address has a token bucket of checks; a check that succeeds gives its token back, so
 *     the bucket limits an address's failures and its checks in flight, not its logins — two
 *     hundred gateways behind one NAT logging in after a broker restart are not an attack;
 *  4. at most `maxConcurrentChecks` scrypt run at once, `maxQueuedChecks` wait, the rest are
 *     refused at once — and a check whose connection has gone meanwhile is skipped.
 * A cached answer is as hard to guess as the password itself (it compares a SHA-256 of it), so it
 * is consulted even for an address in back-off; everything else from that address is refused.
 */
export class LoginGuard {
  readonly #cache: BoundedMap<string, CacheEntry>;
  readonly #addresses: BoundedMap<string, AddressState>;
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  readonly #digest: (username: string, password: Buffer) => Buffer | undefined;
  readonly #onChange: () => void;

  constructor(
    private readonly verify: (username: string | undefined, password: Buffer | undefined) => Promise<VerifyResult>,
    readonly config: LoginGuardConfig,
    private readonly now: Now = Date.now,
    cache: LoginCacheOptions = {},
  ) {
    this.#cache = new BoundedMap(config.cacheEntries);
    this.#addresses = new BoundedMap(config.trackedAddresses);
    this.#digest = cache.digest ?? ((_u, password) => createHash('sha256').update(password).digest());
    this.#onChange = cache.onChange ?? (() => undefined);
  }

  /** The unexpired remembered successes, for saving (see login-cache-file.ts). */
  remembered(): RememberedLogin[] {
    const t = this.now();
    const out: RememberedLogin[] = [];
    for (const [username, e] of this.#cache.entries()) {
      if (e.expires > t) out.push({ username, digest: e.digest.toString('hex'), principal: e.principal, expires: e.expires });
    }
    return out;
  }

  /** Remembers saved successes again (after a restart); expired ones are skipped. Returns how many were taken. */
  remember(entries: readonly RememberedLogin[]): number {
    const t = this.now();
    let taken = 0;
    for (const e of entries) {
      if (e.expires <= t) continue;
      // Never longer than this broker's own TTL, whatever the file says.
      this.#cache.set(e.username, {
        digest: Buffer.from(e.digest, 'hex'),
        principal: e.principal,
        expires: Math.min(e.expires, t + this.config.cacheTtlMs),
      });
      taken++;
    }
    return taken;
  }

  /** checks running and waiting, for stats and tests */
  get load(): { running: number; queued: number } {
    return { running: this.#running, queued: this.#waiting.length };
  }

  /** Forgets every remembered success: after a credentials change (rotate, revoke, removal). */
  clearCache(): void {
    this.#cache.clear();
    this.#onChange();
  }

  /** @param abandoned true once the connection is gone, so a queued check need not run */
  async login(username: string | undefined, password: Buffer | undefined, address: string, abandoned: () => boolean): Promise<LoginResult> {
    if (username === undefined || password === undefined) return this.verify(username, password);
    const digest = this.#digest(username, password);
    const key = username;
    const hit = digest === undefined ? undefined : this.#cache.get(key);
    const t = this.now();
    if (hit && digest && hit.expires > t && hit.digest.length === digest.length && timingSafeEqual(hit.digest, digest)) {
      return { ok: true, principal: hit.principal, cached: true };
    }

    const state = this.#address(address, t);
    if (state.blockedUntil > t) return { ok: false, reason: 'login-backoff' };
    if (!state.bucket.take()) return { ok: false, reason: 'login-rate-limited' };
    if (this.#running >= this.config.maxConcurrentChecks && this.#waiting.length >= this.config.maxQueuedChecks) {
      return { ok: false, reason: 'login-busy' };
    }
    await this.#acquire();
    try {
      if (abandoned()) return { ok: false, reason: 'login-abandoned' };
      const result = await this.verify(username, password);
      if (result.ok) {
        state.failures = 0;
        state.blockedUntil = 0;
        // A valid login is not what the bucket limits (see the class comment).
        state.bucket.refund();
        if (digest !== undefined) {
          this.#cache.set(key, { digest, principal: result.principal, expires: this.now() + this.config.cacheTtlMs });
          this.#onChange();
        }
      } else if (result.reason === 'bad-password' || result.reason === 'unknown-user') {
        state.failures++;
        const over = state.failures - this.config.backoffAfterFailures;
        if (over >= 0) {
          state.blockedUntil = this.now() + Math.min(this.config.backoffMaxMs, this.config.backoffBaseMs * 2 ** Math.min(over, 30));
        }
      }
      return result;
    } finally {
      this.#release();
    }
  }

  #address(address: string, t: number): AddressState {
    let s = this.#addresses.get(address);
    if (!s) {
      s = { bucket: new TokenBucket(this.config.perAddressPerSecond, this.config.perAddressBurst, this.now), failures: 0, blockedUntil: 0 };
      this.#addresses.set(address, s);
    }
    // A long quiet spell after the back-off expired forgives earlier failures.
    if (s.failures > 0 && s.blockedUntil !== 0 && t > s.blockedUntil + this.config.backoffMaxMs) {
      s.failures = 0;
      s.blockedUntil = 0;
    }
    return s;
  }

  #acquire(): Promise<void> {
    if (this.#running < this.config.maxConcurrentChecks) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    // The slot passes straight to the next waiter: #running stays the same.
    if (next) next();
    else this.#running--;
  }
}
