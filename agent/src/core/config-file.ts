import { readFileSync } from 'node:fs';
import { formatPayloadError, parseJson, toPayloadError } from '@poste/protocol';
import type { z } from 'zod';
import { AgentFileOptionsSchema } from './options';
import { migrateAgentSettings, pathBeforeMigration } from './settings-migration';

export type LoadedConfig =
  | {
      ok: true;
      options: z.output<typeof AgentFileOptionsSchema>;
      /** The version the file declared (absent = 1) and what migrating it to the current version changed; log these. */
      migration: { from: number; to: number; notes: string[] };
    }
  | { ok: false; error: string };

/**
 * Reads an agent JSON config file, migrates it to the current `configVersion` (the file itself is
 * left as it is: gateways often keep config read-only) and validates it. Errors name the file and
 * the offending path as written in the file.
 */
export function loadAgentConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: `${file}: cannot read: ${(err as Error).message}` };
  }
  const json = parseJson(text);
  if (!json.ok) return { ok: false, error: `${file}: ${formatPayloadError(json.error)}` };
  const migrated = migrateAgentSettings(json.value);
  if (!migrated.ok) return { ok: false, error: `${file}: ${formatPayloadError(migrated.error)}` };
  const r = AgentFileOptionsSchema.safeParse(migrated.settings);
  if (!r.success) {
    const e = toPayloadError(r.error);
    return { ok: false, error: `${file}: ${formatPayloadError({ ...e, path: pathBeforeMigration(e.path, migrated.renamed) })}` };
  }
  return { ok: true, options: r.data, migration: { from: migrated.from, to: migrated.to, notes: migrated.notes } };
}
