import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GatewayIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import { z } from 'zod';
import { generatePassword, hashPassword, verifyAgainstDummy, verifyPassword } from './password-hash';

/** When a credential was revoked or last given a new password (ISO 8601); absent = never. */
const Timestamp = z.iso.datetime({ message: 'must be an ISO 8601 UTC timestamp, e.g. 2024-11-14T05:00:00Z' });

export const GatewayCredentialSchema = z.object({
  id: GatewayIdSchema,
  municipality: MunicipalityIdSchema,
  passwordHash: z.string().startsWith('scrypt$'),
  /** a revoked gateway is refused at CONNECT and disconnected by a running broker that reloads the file */
  revokedAt: Timestamp.optional(),
  rotatedAt: Timestamp.optional(),
});
export const ServiceCredentialSchema = z.object({
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  role: z.literal('service'),
  passwordHash: z.string().startsWith('scrypt$'),
  revokedAt: Timestamp.optional(),
  rotatedAt: Timestamp.optional(),
});

/** The current file layout. Version 2 added `revokedAt` / `rotatedAt`. */
export const CREDENTIALS_FILE_VERSION = 2;
const CredentialsFileV2Schema = z.object({
  version: z.literal(2),
  gateways: z.array(GatewayCredentialSchema).default([]),
  services: z.array(ServiceCredentialSchema).default([]),
});
/** Version 1 (or no version): the same entries without the revocation fields; read and migrated to 2. */
const CredentialsFileV1Schema = z.object({
  version: z.literal(1).default(1),
  gateways: z.array(GatewayCredentialSchema.omit({ revokedAt: true, rotatedAt: true })).default([]),
  services: z.array(ServiceCredentialSchema.omit({ revokedAt: true, rotatedAt: true })).default([]),
});
/** Any version this code reads (no version = 1), migrated to the current one (saved as such on the next write). */
export const CredentialsFileSchema = z
  .preprocess(
    (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !('version' in v) ? { ...v, version: 1 } : v),
    z.discriminatedUnion('version', [CredentialsFileV2Schema, CredentialsFileV1Schema.extend({ version: z.literal(1) })]),
  )
  .transform((f): z.infer<typeof CredentialsFileV2Schema> => ({ version: 2, gateways: f.gateways, services: f.services }));
export type GatewayCredential = z.infer<typeof GatewayCredentialSchema>;
export type ServiceCredential = z.infer<typeof ServiceCredentialSchema>;
export type CredentialsFile = z.output<typeof CredentialsFileSchema>;

/** Who a connection authenticated as. */
export type Principal = { role: 'gateway'; id: string; municipality: string } | { role: 'service'; username: string };

export type VerifyResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'unknown-user' | 'bad-password' | 'no-credentials' | 'revoked' };

/** One credential as `poste-broker list` shows it (never the hash). */
export interface CredentialSummary {
  kind: 'gateway' | 'service';
  name: string;
  municipality?: string;
  revokedAt?: string;
  rotatedAt?: string;
}

/** Credentials in memory: lookup by username, password check, and the gateway → municipality directory. */
export class CredentialsStore {
  constructor(readonly data: CredentialsFile) {
    const ids = new Set<string>();
    for (const name of [...data.gateways.map((g) => g.id), ...data.services.map((s) => s.username)]) {
      if (ids.has(name)) throw new Error(`credentials: duplicate username ${name}`);
      ids.add(name);
    }
  }

  static empty(): CredentialsStore {
    return new CredentialsStore({ version: CREDENTIALS_FILE_VERSION, gateways: [], services: [] });
  }

  /** A gateway's username is its id; service users have their own names. Never throws on input. */
  async verify(username: string | undefined, password: Buffer | string | undefined): Promise<VerifyResult> {
    if (username === undefined || password === undefined) return { ok: false, reason: 'no-credentials' };
    const pw = typeof password === 'string' ? password : password.toString('utf8');
    const gw = this.data.gateways.find((g) => g.id === username);
    // Revoked: refused before any password work, so a revoked gateway retrying costs no scrypt.
    if ((gw ?? this.data.services.find((s) => s.username === username))?.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    if (gw) {
      return (await verifyPassword(pw, gw.passwordHash))
        ? { ok: true, principal: { role: 'gateway', id: gw.id, municipality: gw.municipality } }
        : { ok: false, reason: 'bad-password' };
    }
    const svc = this.data.services.find((s) => s.username === username);
    if (svc) {
      return (await verifyPassword(pw, svc.passwordHash))
        ? { ok: true, principal: { role: 'service', username: svc.username } }
        : { ok: false, reason: 'bad-password' };
    }
    await verifyAgainstDummy(pw);
    return { ok: false, reason: 'unknown-user' };
  }

  /** Is `name` a gateway id (revoked or not)? A gateway's id is reserved as its client id. */
  isGateway(name: string): boolean {
    return this.data.gateways.some((g) => g.id === name);
  }

  /** Is `principal` still allowed in: present in this store and not revoked? (checked on reload) */
  admits(principal: Principal): boolean {
    const entry =
      principal.role === 'gateway'
        ? this.data.gateways.find((g) => g.id === principal.id && g.municipality === principal.municipality)
        : this.data.services.find((s) => s.username === principal.username);
    return entry !== undefined && entry.revokedAt === undefined;
  }

  list(): CredentialSummary[] {
    return [
      ...this.data.gateways.map((g) => ({ kind: 'gateway' as const, name: g.id, municipality: g.municipality, ...times(g) })),
      ...this.data.services.map((s) => ({ kind: 'service' as const, name: s.username, ...times(s) })),
    ];
  }

  /** A new generated password for an existing gateway or service user; the old one stops working. */
  async withRotated(name: string, now: Date = new Date()): Promise<{ store: CredentialsStore; password: string }> {
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    const rotatedAt = now.toISOString();
    return { store: this.#mapEntry(name, (e) => ({ ...e, passwordHash, rotatedAt })), password };
  }

  /** Marks a gateway or service user revoked (kept in the file, so the id stays reserved). */
  withRevoked(name: string, now: Date = new Date()): CredentialsStore {
    return this.#mapEntry(name, (e) => (e.revokedAt ? e : { ...e, revokedAt: now.toISOString() }));
  }

  #mapEntry(name: string, change: <E extends GatewayCredential | ServiceCredential>(e: E) => E): CredentialsStore {
    if (this.data.gateways.some((g) => g.id === name)) {
      return new CredentialsStore({ ...this.data, gateways: this.data.gateways.map((g) => (g.id === name ? change(g) : g)) });
    }
    if (this.data.services.some((s) => s.username === name)) {
      return new CredentialsStore({ ...this.data, services: this.data.services.map((s) => (s.username === name ? change(s) : s)) });
    }
    throw new UnknownCredentialError(name);
  }

  /** Server-side directory: the municipality a gateway belongs to (never taken from payloads). */
  municipalityOf(gateway: string): string | undefined {
    return this.data.gateways.find((g) => g.id === gateway)?.municipality;
  }

  directory(): Map<string, string> {
    return new Map(this.data.gateways.map((g) => [g.id, g.municipality]));
  }

  /** Adds (or replaces the password of) a gateway; returns the new store and the clear password, shown once. */
  async withGateway(id: string, municipality: string): Promise<{ store: CredentialsStore; password: string }> {
    const password = generatePassword();
    const entry = GatewayCredentialSchema.parse({ id, municipality, passwordHash: await hashPassword(password) });
    if (this.data.services.some((s) => s.username === id)) throw new Error(`credentials: ${id} is a service user`);
    const gateways = [...this.data.gateways.filter((g) => g.id !== id), entry];
    return { store: new CredentialsStore({ ...this.data, gateways }), password };
  }

  async withService(username: string, password: string = generatePassword()): Promise<{ store: CredentialsStore; password: string }> {
    const entry = ServiceCredentialSchema.parse({ username, role: 'service', passwordHash: await hashPassword(password) });
    if (this.data.gateways.some((g) => g.id === username)) throw new Error(`credentials: ${username} is a gateway`);
    const services = [...this.data.services.filter((s) => s.username !== username), entry];
    return { store: new CredentialsStore({ ...this.data, services }), password };
  }
}

/** `rotate` / `revoke` of a name that is neither a gateway nor a service user. */
export class UnknownCredentialError extends Error {
  constructor(readonly credential: string) {
    super(`credentials: no gateway or service user named ${JSON.stringify(credential)}`);
  }
}

function times(e: { revokedAt?: string | undefined; rotatedAt?: string | undefined }): Pick<CredentialSummary, 'revokedAt' | 'rotatedAt'> {
  return { ...(e.revokedAt ? { revokedAt: e.revokedAt } : {}), ...(e.rotatedAt ? { rotatedAt: e.rotatedAt } : {}) };
}

/** A credentials file that is not valid: names the file, and for schema errors each path and reason. */
export class CredentialsFileError extends Error {}

/** Parses a credentials file's text; throws CredentialsFileError naming the path and reason of each problem. */
export function parseCredentials(text: string, file: string): CredentialsStore {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    throw new CredentialsFileError(`${file}: not JSON: ${(err as Error).message}`);
  }
  const parsed = CredentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new CredentialsFileError(`${file}: ${problems.join('; ')}`);
  }
  try {
    return new CredentialsStore(parsed.data);
  } catch (err) {
    throw new CredentialsFileError(`${file}: ${(err as Error).message}`);
  }
}

/** Loads and validates a credentials file; a missing file is an empty store. */
export async function loadCredentials(file: string): Promise<CredentialsStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return CredentialsStore.empty();
    throw err;
  }
  return parseCredentials(text, file);
}

/** Writes atomically (temp file + rename), readable by the owner only: it holds password hashes. */
export async function saveCredentials(file: string, store: CredentialsStore): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ ...store.data, version: CREDENTIALS_FILE_VERSION }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** Adds a gateway to the file and returns its generated password (printed once by the CLI). */
export async function addGateway(file: string, id: string, municipality: string): Promise<string> {
  const { store, password } = await (await loadCredentials(file)).withGateway(id, municipality);
  await saveCredentials(file, store);
  return password;
}

/** Adds a service user (dashboard-api, ingest on another node) to the file; returns its password. */
export async function addService(file: string, username: string, password?: string): Promise<string> {
  const r = await (await loadCredentials(file)).withService(username, password);
  await saveCredentials(file, r.store);
  return r.password;
}

/** Gives an existing gateway or service user a new generated password; returns it (printed once). */
export async function rotateCredential(file: string, name: string): Promise<string> {
  const { store, password } = await (await loadCredentials(file)).withRotated(name);
  await saveCredentials(file, store);
  return password;
}

/** Revokes a gateway or service user; a running broker watching the file disconnects it. */
export async function revokeCredential(file: string, name: string): Promise<void> {
  await saveCredentials(file, (await loadCredentials(file)).withRevoked(name));
}
