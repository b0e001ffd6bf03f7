import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TokenStore } from './token-store';

/**
 * First run: an admin token, written to `file` (mode 0600) for the person who started the server.
 * Later runs keep it while it still verifies as an admin; if it was revoked (or the file removed)
 * a new one is made, so whoever can read the data directory can always get back in.
 */
export async function ensureAdminToken(tokens: TokenStore, file: string): Promise<{ file: string; created: boolean }> {
  const existing = await readFile(file, 'utf8').then(
    (t) => t.split(/\r?\n/)[0] ?? '',
    () => '',
  );
  if (existing !== '') {
    const who = await tokens.verify(existing);
    if (who?.role === 'admin') return { file, created: false };
  }
  const { token } = await tokens.create({ name: 'admin first-run', role: 'admin' });
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  // writeFile keeps the mode of an existing file: make sure it is private.
  await chmod(file, 0o600);
  return { file, created: true };
}
