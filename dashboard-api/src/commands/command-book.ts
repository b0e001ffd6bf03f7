import { randomBytes } from 'node:crypto';
import { createJournal } from '../state/journal';
import { type CommandRecord, CommandRecordSchema } from './command-schemas';

/** The command audit: every command with its parts and outcome, kept in a journal (at most `max`, oldest finished leave first). */
export interface CommandBook {
  add(rec: Omit<CommandRecord, 'id'>): CommandRecord;
  /** Records a change made to `rec` (already mutated). */
  save(rec: CommandRecord): void;
  get(id: string): CommandRecord | undefined;
  /** Newest first. */
  all(): CommandRecord[];
  flush(): Promise<void>;
}

export async function openCommandBook(opts: { file?: string; max?: number; onError?: (err: Error) => void } = {}): Promise<CommandBook> {
  const max = opts.max ?? 20_000;
  const byId = new Map<string, CommandRecord>();
  const journal = createJournal(opts.file, CommandRecordSchema, {
    live: () => byId.values(),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  for (const r of (await journal.load()).sort((a, b) => a.requestedAt - b.requestedAt)) byId.set(r.id, r);
  const evict = () => {
    for (const [id, r] of byId) {
      if (byId.size <= max) return;
      if (r.state !== 'scheduled' && r.state !== 'sent') byId.delete(id);
    }
  };
  return {
    add(spec) {
      const rec: CommandRecord = { id: `c-${randomBytes(6).toString('hex')}`, ...spec };
      byId.set(rec.id, rec);
      evict();
      journal.append(rec);
      return rec;
    },
    save: (rec) => journal.append(rec),
    get: (id) => byId.get(id),
    all: () => [...byId.values()].reverse(),
    flush: () => journal.flush(),
  };
}
