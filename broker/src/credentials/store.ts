import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GatewayIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import { z } from 'zod';
import { generatePassword, hashPassword, verifyAgainstDummy, verifyPassword } from './password-hash';

export const GatewayCredentialSchema = z.object({
  id: GatewayIdSchema,
  municipality: MunicipalityIdSchema,
  passwordHash: z.string().startsWith('scrypt$'),
});
export const ServiceCredentialSchema = z.object({
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  role: z.literal('service'),
  passwordHash: z.string().startsWith('scrypt$'),
});
export const CredentialsFileSchema = z.object({
  version: z.literal(1).default(1),
  gateways: z.array(GatewayCredentialSchema).default([]),
  services: z.array(ServiceCredentialSchema).default([]),
});
export type GatewayCredential = z.infer<typeof GatewayCredentialSchema>;
export type ServiceCredential = z.infer<typeof ServiceCredentialSchema>;
export type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

/** Who a connection authenticated as. */
export type Principal =
  | { role: 'gateway'; id: string; municipality: string }
  | { role: 'service'; username: string };

export type VerifyResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'unknown-user' | 'bad-password' | 'no-credentials' };

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
    return new CredentialsStore({ version: 1, gateways: [], services: [] });
  }

  /** A gateway's username is its id; service users have their own names. Never throws on input. */
  async verify(username: string | undefined, password: Buffer | string | undefined): Promise<VerifyResult> {
    if (username === undefined || password === undefined) return { ok: false, reason: 'no-credentials' };
    const pw = typeof password === 'string' ? password : password.toString('utf8');
    const gw = this.data.gateways.find((g) => g.id === username);
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

/** Loads and validates a credentials file; a missing file is an empty store. */
export async function loadCredentials(file: string): Promise<CredentialsStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return CredentialsStore.empty();
    throw err;
  }
  return new CredentialsStore(CredentialsFileSchema.parse(JSON.parse(text) as unknown));
}

/** Writes atomically (temp file + rename), readable by the owner only: it holds password hashes. */
export async function saveCredentials(file: string, store: CredentialsStore): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(store.data, null, 2)}\n`, { mode: 0o600 });
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
