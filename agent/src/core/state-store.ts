import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import * as z from 'zod';
import { formatPayloadError, toPayloadError } from '@poste/protocol';

/** What survives an agent restart: the birth seq (so it keeps increasing) and the applied config. */
export const PersistedStateSchema = z.object({
  birthSeq: z.number().int().min(0),
  config: z.object({ version: z.number().int().min(0), config: z.unknown() }).optional(),
});
export type PersistedState = z.infer<typeof PersistedStateSchema>;

export const STATE_FILE = 'agent-state.json';

type Loaded = { ok: true; state: PersistedState } | { ok: false; missing: boolean; reason: string };

function load(file: string): Loaded {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, reason: missing ? 'missing' : `unreadable: ${(err as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, missing: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = PersistedStateSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, missing: false, reason: `invalid: ${formatPayloadError(toPayloadError(parsed.error))}` };
  return { ok: true, state: parsed.data };
}

/** Writes `text` to `file` atomically and durably: a temp file, fsynced, renamed over the old one. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * A small JSON file in the data dir (`agent-state.json`), replaced atomically, with a second copy
 * (`agent-state.json.bak`) written after it. A crash leaves at least one good copy; a file damaged
 * on disk (a bad flash block, an edit gone wrong) is refused loudly — moved aside to
 * `agent-state.json.corrupt`, an error naming it — and the agent starts from the backup, so the
 * birth seq keeps increasing and the dimming program stays in force with the uplink down.
 */
export class StateStore {
  readonly #file: string | null;
  #state: PersistedState = { birthSeq: 0 };

  constructor(dataDir: string | undefined, log: Logger) {
    this.#file = dataDir === undefined ? null : join(dataDir, STATE_FILE);
    if (dataDir === undefined || this.#file === null) return;
    mkdirSync(dataDir, { recursive: true });
    const file = this.#file;
    const backup = `${file}.bak`;
    const main = load(file);
    if (main.ok) {
      this.#state = main.state;
      return;
    }
    const bak = load(backup);
    if (main.missing && !bak.ok && bak.missing) return; // first start
    if (!main.missing) {
      const aside = `${file}.corrupt`;
      renameSync(file, aside);
      log.error(
        { file, movedTo: aside, reason: main.reason, backup, backupUsable: bak.ok },
        `agent state file ${file} is corrupt (${main.reason}): refused and moved to ${aside}; ` +
          (bak.ok
            ? `starting from the last good copy ${backup} (birth seq ${bak.state.birthSeq}, config version ${bak.state.config?.version ?? 0})`
            : `the backup ${backup} is ${bak.reason} too: starting with birth seq 0 and no applied config until the cloud's desired config arrives — check the storage of ${file}`),
      );
    } else if (bak.ok) {
      log.warn({ file, backup }, `agent state file ${file} is missing; starting from the backup ${backup}`);
    } else {
      log.error(
        { file, backup, reason: bak.reason },
        `agent state file ${file} is missing and its backup ${backup} is ${bak.reason}: starting from birth seq 0 and no applied config`,
      );
    }
    if (bak.ok) {
      this.#state = bak.state;
      this.#save();
    }
  }

  get(): PersistedState {
    return this.#state;
  }

  update(patch: Partial<PersistedState>): void {
    this.#state = { ...this.#state, ...patch };
    this.#save();
  }

  #save(): void {
    if (this.#file === null) return;
    const text = JSON.stringify(this.#state);
    // The main file first, then the backup: whenever a crash lands, one of them holds a whole state.
    writeAtomic(this.#file, text);
    writeAtomic(`${this.#file}.bak`, text);
  }
}
