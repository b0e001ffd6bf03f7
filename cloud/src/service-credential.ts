import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { addService, loadCredentials } from '@poste/broker';

/** The service user the cloud's own dashboard uses for its fleet link, unless told otherwise. */
export const DEFAULT_SERVICE_USER = 'poste-cloud';

export interface ServiceCredential {
  username: string;
  password: string;
  /** where the clear password is kept (mode 0600) */
  passwordFile: string;
  /** what had to be done: nothing, a new service user, or a new password for an existing one */
  outcome: 'existing' | 'created' | 'rekeyed';
}

/** `creds.json` → `creds.poste-cloud.password`, beside the credentials file. */
export function servicePasswordFile(credentialsFile: string, username: string): string {
  const base = basename(credentialsFile, extname(credentialsFile));
  return join(dirname(credentialsFile), `${base}.${username}.password`);
}

async function readPassword(file: string): Promise<string | undefined> {
  try {
    const first = (await readFile(file, 'utf8')).split(/\r?\n/)[0];
    return first === '' ? undefined : first;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the service password file ${file}: ${(err as Error).message}`);
  }
}

/**
 * The credentials file keeps only scrypt hashes, so a process that must log in as a service user
 * keeps the clear password elsewhere: a 0600 file beside the credentials file. When the user is
 * missing from the credentials, or the kept password no longer verifies (file lost, user re-keyed
 * by an operator), a new password is generated, hashed into the credentials file and kept.
 */
export async function ensureServiceCredential(credentialsFile: string, username: string): Promise<ServiceCredential> {
  const passwordFile = servicePasswordFile(credentialsFile, username);
  const kept = await readPassword(passwordFile);
  const credentials = await loadCredentials(credentialsFile);
  const known = credentials.data.services.some((s) => s.username === username);
  if (known && kept !== undefined && (await credentials.verify(username, kept)).ok) {
    return { username, password: kept, passwordFile, outcome: 'existing' };
  }
  const password = await addService(credentialsFile, username);
  await mkdir(dirname(passwordFile), { recursive: true });
  const tmp = `${passwordFile}.${process.pid}.tmp`;
  await writeFile(tmp, `${password}\n`, { mode: 0o600 });
  await rename(tmp, passwordFile);
  return { username, password, passwordFile, outcome: known ? 'rekeyed' : 'created' };
}
