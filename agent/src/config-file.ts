import { readFileSync } from 'node:fs';
import { formatPayloadError, parseJson, toPayloadError } from '@poste/protocol';
import type { z } from 'zod';
import { AgentFileOptionsSchema } from './options';

export type LoadedConfig =
  | { ok: true; options: z.output<typeof AgentFileOptionsSchema> }
  | { ok: false; error: string };

/** Reads and validates an agent JSON config file; errors name the file and the offending path. */
export function loadAgentConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: `${file}: cannot read: ${(err as Error).message}` };
  }
  const json = parseJson(text);
  if (!json.ok) return { ok: false, error: `${file}: ${formatPayloadError(json.error)}` };
  const r = AgentFileOptionsSchema.safeParse(json.value);
  if (!r.success) return { ok: false, error: `${file}: ${formatPayloadError(toPayloadError(r.error))}` };
  return { ok: true, options: r.data };
}
