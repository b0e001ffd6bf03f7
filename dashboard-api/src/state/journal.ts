import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';

/**
 * A small append-only JSON-lines journal of records keyed by `id`: every change appends the whole
 * record, the last line of an id wins on load. Rewritten compactly (temp file + rename) once it
 * holds more than `compactFactor` lines per live record, so it stays proportional to the state.
 * Writes are serialised; a torn last line (crash mid-append) is skipped on load. Without a file it
 * keeps nothing (in-memory use).
 */
export interface Journal<T extends { id: string }> {
  load(): Promise<T[]>;
  append(record: T): void;
  /** Resolves once every append so far is on disk. */
  flush(): Promise<void>;
}

export function createJournal<T extends { id: string }>(
  file: string | undefined,
  schema: z.ZodType<T>,
  opts: { compactFactor?: number; live: () => Iterable<T>; onError?: (err: Error) => void },
): Journal<T> {
  const compactFactor = opts.compactFactor ?? 4;
  let lines = 0;
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>) => {
    chain = chain.then(work).catch((err: Error) => opts.onError?.(err));
  };
  return {
    async load() {
      if (!file) return [];
      let text = '';
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const byId = new Map<string, T>();
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        lines += 1;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          continue; // a torn last line
        }
        const r = schema.safeParse(json);
        if (r.success) byId.set(r.data.id, r.data);
      }
      return [...byId.values()];
    },
    append(record) {
      if (!file) return;
      const line = `${JSON.stringify(record)}\n`;
      enqueue(async () => {
        await mkdir(dirname(file), { recursive: true });
        await appendFile(file, line, { mode: 0o600 });
        lines += 1;
        const live = [...opts.live()];
        if (lines > Math.max(64, live.length * compactFactor)) {
          const tmp = `${file}.tmp`;
          await writeFile(tmp, live.map((r) => `${JSON.stringify(r)}\n`).join(''), { mode: 0o600 });
          await rename(tmp, file);
          lines = live.length;
        }
      });
    },
    flush: () => chain,
  };
}
