import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { addGateway, addService, loadCredentials } from '@poste/broker';
import { z } from 'zod';

/**
 * The city in a box plays every gateway itself, so it keeps their clear passwords in the data
 * directory (mode 0600) next to the hashed credentials the broker checks. A real deployment never
 * has this file: each gateway holds only its own password, provisioned by a technician.
 */
const SecretsSchema = z.object({
  gateways: z.record(z.string(), z.string()).default({}),
  services: z.record(z.string(), z.string()).default({}),
});
export type CitySecrets = z.infer<typeof SecretsSchema>;

export const DASHBOARD_SERVICE_USER = 'dashboard';

async function readSecrets(file: string): Promise<CitySecrets> {
  try {
    return SecretsSchema.parse(JSON.parse(await readFile(file, 'utf8')) as unknown);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { gateways: {}, services: {} };
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/**
 * Makes sure every gateway of the scenario and the dashboard's service user have credentials,
 * creating the missing ones (hashed in `credentialsFile`, clear in `secretsFile`).
 */
export async function provisionCredentials(
  credentialsFile: string,
  secretsFile: string,
  gateways: ReadonlyArray<{ id: string; municipality: string }>,
): Promise<CitySecrets> {
  const secrets = await readSecrets(secretsFile);
  const existing = await loadCredentials(credentialsFile);
  let changed = false;
  for (const gw of gateways) {
    if (secrets.gateways[gw.id] && existing.municipalityOf(gw.id) === gw.municipality) continue;
    secrets.gateways[gw.id] = await addGateway(credentialsFile, gw.id, gw.municipality);
    changed = true;
  }
  if (!secrets.services[DASHBOARD_SERVICE_USER] || !existing.data.services.some((s) => s.username === DASHBOARD_SERVICE_USER)) {
    secrets.services[DASHBOARD_SERVICE_USER] = await addService(credentialsFile, DASHBOARD_SERVICE_USER);
    changed = true;
  }
  if (changed) {
    await mkdir(dirname(secretsFile), { recursive: true });
    const tmp = `${secretsFile}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, secretsFile);
  }
  return secrets;
}
