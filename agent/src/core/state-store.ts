import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** What survives an agent restart: the birth seq (so it keeps increasing) and the applied config. */
export const PersistedStateSchema = z.object({
  birthSeq: z.number().int().min(0),
  config: z.object({ version: z.number().int().min(0), config: z.unknown() }).optional(),
});
export type PersistedState = z.infer<typeof PersistedStateSchema>;

/** Small JSON file in the data dir, replaced atomically (write + rename) so a crash never truncates it. */
export class StateStore {
  readonly #file: string | null;
  #state: PersistedState;

  constructor(dataDir: string | undefined) {
    this.#file = dataDir === undefined ? null : join(dataDir, 'agent-state.json');
    this.#state = { birthSeq: 0 };
    if (dataDir === undefined || this.#file === null) return;
    mkdirSync(dataDir, { recursive: true });
    try {
      const parsed = PersistedStateSchema.safeParse(JSON.parse(readFileSync(this.#file, 'utf8')));
      if (parsed.success) this.#state = parsed.data;
    } catch {
      // First start (no file) or unreadable: start from zero, the next save repairs it.
    }
  }

  get(): PersistedState {
    return this.#state;
  }

  update(patch: Partial<PersistedState>): void {
    this.#state = { ...this.#state, ...patch };
    if (this.#file === null) return;
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state));
    renameSync(tmp, this.#file);
  }
}
