import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { RoleSchema, type Role } from './roles';

/**
 * API tokens, stored hashed in a JSON file (mode 0600) so the CLI (`poste-dashboard token create`)
 * and a running server share them. A token is 32 random bytes: SHA-256 is enough to store it (a
 * slow hash protects guessable passwords, not 256-bit secrets) and costs microseconds per request.
 * The running server notices a file changed by the CLI (one stat at most once per second), so a new
 * or revoked token applies within a second, without a restart.
 */
export const TokenNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/, 'token name: 1-64 chars of letters, digits, space . _ @ -, starting alphanumeric');

export const TokenRecordSchema = z.object({
  id: z.string().regex(/^[a-f0-9]{12}$/),
  name: TokenNameSchema,
  role: RoleSchema,
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  createdAt: z.number().int().nonnegative(),
  revokedAt: z.number().int().nonnegative().optional(),
});
export type TokenRecord = z.infer<typeof TokenRecordSchema>;
const TokenFileSchema = z.object({ v: z.literal(1), tokens: z.array(TokenRecordSchema).max(10_000) });

/** The public view of a token (never its hash). */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  revokedAt?: number;
}

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

export class TokenFileError extends Error {}

const TOKEN_PREFIX = 'pst_';
const RELOAD_MIN_INTERVAL_MS = 1_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const info = (t: TokenRecord): TokenInfo => ({
  id: t.id,
  name: t.name,
  role: t.role,
  createdAt: t.createdAt,
  ...(t.revokedAt !== undefined ? { revokedAt: t.revokedAt } : {}),
});

export interface TokenStore {
  /** The principal a bearer token stands for, or undefined (unknown or revoked). */
  verify(token: string): Promise<Principal | undefined>;
  /** Creates a token; the secret is returned once and never stored. */
  create(spec: { name: string; role: Role }): Promise<{ token: string; info: TokenInfo }>;
  revoke(id: string): Promise<TokenInfo | undefined>;
  list(): Promise<TokenInfo[]>;
}

/** Reads the token file; a missing file is an empty store, a damaged one throws naming the path inside it. */
async function readTokenFile(file: string): Promise<TokenRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TokenFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TokenFileError(`${file}: not JSON: ${(err as Error).message}`);
  }
  const r = TokenFileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new TokenFileError(`${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data.tokens;
}

async function writeTokenFile(file: string, tokens: readonly TokenRecord[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ v: 1, tokens }, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/**
 * The token store. With `file` it is kept there (shared with the CLI); without, in memory only
 * (tests, embedding). `now` stamps creation and revocation.
 */
export function createTokenStore(opts: { file?: string; now?: () => number } = {}): TokenStore {
  const now = opts.now ?? Date.now;
  let tokens: TokenRecord[] = [];
  let byHash = new Map<string, TokenRecord>();
  let loadedMtimeMs = -1;
  let lastStatAt = Number.NEGATIVE_INFINITY;
  let loaded: Promise<void> | undefined;
  // One write at a time: create/revoke read-modify-write the whole file.
  let writing: Promise<unknown> = Promise.resolve();

  const index = () => {
    byHash = new Map(tokens.map((t) => [t.sha256, t]));
  };
  const reload = async () => {
    if (!opts.file) return;
    const mtime = await stat(opts.file).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (mtime === loadedMtimeMs) return;
    tokens = await readTokenFile(opts.file);
    loadedMtimeMs = mtime;
    index();
  };
  const ensureLoaded = () => (loaded ??= reload());
  const mutate = <T>(change: () => T): Promise<T> => {
    const run = writing.then(async () => {
      await ensureLoaded();
      if (opts.file) {
        // The CLI may have written since: start from the file.
        tokens = await readTokenFile(opts.file);
        index();
      }
      const result = change();
      if (opts.file) {
        await writeTokenFile(opts.file, tokens);
        loadedMtimeMs = (await stat(opts.file)).mtimeMs;
      }
      index();
      return result;
    });
    writing = run.catch(() => undefined);
    return run;
  };

  return {
    async verify(token) {
      await ensureLoaded();
      if (opts.file && now() - lastStatAt >= RELOAD_MIN_INTERVAL_MS) {
        lastStatAt = now();
        // A damaged file (someone editing it) keeps the last good tokens rather than locking everyone out.
        await reload().catch(() => undefined);
      }
      const rec = byHash.get(sha256(token));
      if (!rec || rec.revokedAt !== undefined) return undefined;
      return { tokenId: rec.id, name: rec.name, role: rec.role };
    },
    create({ name, role }) {
      TokenNameSchema.parse(name);
      RoleSchema.parse(role);
      return mutate(() => {
        const id = randomBytes(6).toString('hex');
        const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
        const rec: TokenRecord = { id, name, role, sha256: sha256(token), createdAt: now() };
        tokens.push(rec);
        return { token, info: info(rec) };
      });
    },
    revoke(id) {
      return mutate(() => {
        const rec = tokens.find((t) => t.id === id);
        if (!rec) return undefined;
        rec.revokedAt ??= now();
        return info(rec);
      });
    },
    async list() {
      await ensureLoaded();
      await reload();
      return tokens.map(info);
    },
  };
}
