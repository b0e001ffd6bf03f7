import { createHmac } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CredentialsStore } from '../credentials/store';
import type { LoginGuard, RememberedLogin } from './login-guard';

/** The file, beside the broker state (`--data DIR`). */
export const LOGIN_CACHE_FILE = 'login-cache.json';

/**
 * The login cache's digest when a credentials store is in force: HMAC-SHA-256 of the password
 * keyed with the user's stored scrypt hash. Keyed so that the cache is bound to the credential as
 * it is now: a password rotated (even while the broker was down) has a new stored hash, so the
 * old password's entry no longer matches. Undefined (nothing cached) for an unknown user.
 */
export function credentialCacheDigest(
  current: () => CredentialsStore | undefined,
): (username: string, password: Buffer) => Buffer | undefined {
  return (username, password) => {
    const data = current()?.data;
    const stored =
      data?.gateways.find((g) => g.id === username)?.passwordHash ?? data?.services.find((s) => s.username === username)?.passwordHash;
    return stored === undefined ? undefined : createHmac('sha256', stored).update(password).digest();
  };
}

const RememberedSchema = z.object({
  username: z.string().min(1).max(256),
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in hex'),
  principal: z.object({ role: z.literal('gateway'), id: z.string().min(1), municipality: z.string().min(1) }),
  expires: z.number().int().positive(),
});
const LoginCacheFileSchema = z.object({ v: z.literal(1), entries: z.array(RememberedSchema).max(1_000_000) });

export interface LoginCacheFileOptions {
  dir: string;
  logger: Logger;
  /** coalesces saves: at most one write per this many ms (default 1,000) */
  saveDelayMs?: number;
}

/**
 * Keeps the login guard's remembered gateway logins across a restart. After a broker restart every
 * gateway of a city reconnects within a second or two; without this each of them costs a scrypt
 * check (~50 ms of a core) and 200 gateways wait 10 s or more behind the check semaphore, while
 * with it they are answered from memory as before the restart. Only gateways are kept: their
 * passwords are generated (24 random bytes), so an HMAC of one on disk gives nothing to guess,
 * whereas a service user's password may have been chosen by a person. The file is written
 * atomically (temp + rename), mode 0600; it is a cache, so a lost or damaged file only costs the
 * checks it would have saved (a damaged one is logged and ignored).
 */
export class LoginCacheFile {
  readonly #path: string;
  readonly #logger: Logger;
  readonly #delayMs: number;
  #guard: LoginGuard | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(o: LoginCacheFileOptions) {
    this.#path = join(o.dir, LOGIN_CACHE_FILE);
    this.#logger = o.logger;
    this.#delayMs = o.saveDelayMs ?? 1_000;
  }

  /** Reads the saved entries (none when the file is missing or damaged). */
  async load(): Promise<RememberedLogin[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#logger.warn({ err, path: this.#path }, 'login cache not readable: starting cold');
      return [];
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#logger.warn({ path: this.#path }, 'login cache is not JSON: starting cold');
      return [];
    }
    const r = LoginCacheFileSchema.safeParse(json);
    if (!r.success) {
      this.#logger.warn(
        { path: this.#path, issues: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) },
        'login cache invalid: starting cold',
      );
      return [];
    }
    return r.data.entries;
  }

  /** Loads the saved entries into `guard` and saves its cache from then on (call `changed()` on each change). */
  async attach(guard: LoginGuard): Promise<number> {
    this.#guard = guard;
    return guard.remember(await this.load());
  }

  /** The cache changed: save it within `saveDelayMs`. */
  changed(): void {
    if (this.#closed || this.#timer !== undefined || this.#guard === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#save();
    }, this.#delayMs);
    this.#timer.unref();
  }

  /** Saves now (pending changes included) and stops saving. */
  async close(): Promise<void> {
    if (this.#closed) return this.#writing;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#save();
    this.#closed = true;
    return this.#writing;
  }

  #save(): void {
    const guard = this.#guard;
    if (guard === undefined) return;
    const entries = guard.remembered().filter((e) => e.principal.role === 'gateway');
    const text = JSON.stringify({ v: 1, entries });
    const tmp = `${this.#path}.tmp`;
    // Writes are chained: a later save never lands before an earlier one.
    this.#writing = this.#writing
      .then(async () => {
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.#path);
      })
      .catch((err: unknown) => this.#logger.warn({ err, path: this.#path }, 'login cache not saved'));
  }
}
