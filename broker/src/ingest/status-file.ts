import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

/**
 * What ingest refused and quarantined, written to a small JSON file for the operator of a broker
 * without an HTTP endpoint (`poste-broker serve --data DIR` → DIR/ingest-status.json): counts by
 * reason and the bounded samples. Written atomically (temp file + rename) every `intervalMs` while
 * something changed, and once more on stop.
 */
export class StatusFile {
  readonly #timer: NodeJS.Timeout;
  #lastWritten = '';
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly snapshot: () => object,
    private readonly logger: Logger,
    intervalMs = 5_000,
  ) {
    this.#timer = setInterval(() => void this.write(), intervalMs);
    this.#timer.unref();
  }

  /** Writes the snapshot if it differs from the last one written; errors are logged, never thrown. */
  write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const text = `${JSON.stringify({ ...this.snapshot(), writtenAt: new Date().toISOString() }, null, 2)}\n`;
      const body = text.replace(/"writtenAt": "[^"]*"/, '');
      if (body === this.#lastWritten) return;
      try {
        await mkdir(dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, this.file);
        this.#lastWritten = body;
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err), file: this.file }, 'ingest status file not written');
      }
    });
    return this.#writing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.write();
  }
}
