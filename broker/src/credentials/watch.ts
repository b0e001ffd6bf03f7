import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { CredentialsFileError, parseCredentials, type CredentialsStore } from './store';

export interface CredentialsWatchOptions {
  file: string;
  /** called with each new valid version of the file (not for rewrites with identical content) */
  onReload(store: CredentialsStore): void;
  /** called when the file changed but is missing or invalid: the previous credentials stay in force */
  onRefused(err: Error): void;
  /** changes closer together than this are read once (an editor's write + rename); default 50 ms */
  debounceMs?: number;
}

export interface CredentialsWatch {
  /** Reads the file now (as a change would); resolves once handled. Used after a CLI edit in tests. */
  check(): Promise<void>;
  close(): void;
}

/**
 * Follows a credentials file so `poste-broker revoke` / `rotate` take effect without a restart.
 * Watches the directory, not the file: saveCredentials replaces the file by rename, which would
 * leave a watch on the old inode blind. A change that does not parse, or a file that disappeared,
 * is refused with the reason and the running credentials are kept — a typo must not lock every
 * gateway out (a deleted file would otherwise read as "nobody").
 */
export function watchCredentials(opts: CredentialsWatchOptions): CredentialsWatch {
  const name = basename(opts.file);
  const debounceMs = opts.debounceMs ?? 50;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  // One read at a time; a change arriving during a read schedules one more (never a queue).
  let reading: Promise<void> | undefined;
  let again = false;

  const read = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(opts.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      opts.onRefused(
        new CredentialsFileError(`${opts.file}: cannot read it (${code ?? (err as Error).message}); keeping the credentials in force`),
      );
      return;
    }
    if (text === lastText) return;
    try {
      const store = parseCredentials(text, opts.file);
      lastText = text;
      opts.onReload(store);
    } catch (err) {
      opts.onRefused(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const check = async (): Promise<void> => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        await read();
      } while (again);
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };

  // The content in force at start is the baseline: a first event with the same text is no change.
  const baseline = readFile(opts.file, 'utf8').then(
    (t) => {
      lastText ??= t;
    },
    () => undefined,
  );
  const watcher: FSWatcher = watch(dirname(opts.file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(() => void baseline.then(check), debounceMs);
  });
  watcher.on('error', (err) => opts.onRefused(new CredentialsFileError(`${opts.file}: watch failed: ${err.message}`)));

  return {
    check: () => baseline.then(check),
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
