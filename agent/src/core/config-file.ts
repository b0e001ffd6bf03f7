import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
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
  return parseAgentConfig(text, file);
}

/** The parsing half of loadAgentConfig: `text` as read from `file` (named in errors; relative paths in it resolve beside it). */
export function parseAgentConfig(text: string, file: string): LoadedConfig {
  const json = parseJson(text);
  if (!json.ok) return { ok: false, error: `${file}: ${formatPayloadError(json.error)}` };
  const migrated = migrateAgentSettings(json.value);
  if (!migrated.ok) return { ok: false, error: `${file}: ${formatPayloadError(migrated.error)}` };
  const r = AgentFileOptionsSchema.safeParse(migrated.settings);
  if (!r.success) {
    const e = toPayloadError(r.error);
    return { ok: false, error: `${file}: ${formatPayloadError({ ...e, path: pathBeforeMigration(e.path, migrated.renamed) })}` };
  }
  return {
    ok: true,
    options: { ...r.data, adapters: r.data.adapters.map((a) => withCredentialsBeside(file, a)) },
    migration: { from: migrated.from, to: migrated.to, notes: migrated.notes },
  };
}

type AdapterOptions = z.output<typeof AgentFileOptionsSchema>['adapters'][number];

/** A relative device credentials file is provisioned beside the config that names it, wherever the agent is started from. */
function withCredentialsBeside(file: string, adapter: AdapterOptions): AdapterOptions {
  if (adapter.kind !== 'poste' || adapter.auth.mode !== 'credentials' || isAbsolute(adapter.auth.credentialsFile)) return adapter;
  return { ...adapter, auth: { ...adapter.auth, credentialsFile: resolve(dirname(file), adapter.auth.credentialsFile) } };
}
