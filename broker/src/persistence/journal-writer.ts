import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory so a file created or renamed in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** Lines bound for one journal file; a rotation starts a new segment. */
interface Segment {
  path: string;
  handle?: FileHandle;
  lines: string[];
  waiters: Waiter[];
}

export interface JournalWriterOptions {
  path: string;
  /**
   * How long the first append waits before its write + fdatasync, so that appends arriving in the
   * meantime share one fsync (group commit). While an fsync runs, new appends queue for the next one.
   */
  groupCommitMs: number;
}

/**
 * Append-only writer of framed lines with group commit. `appendDurable` resolves once its line —
 * and every line appended before it — is written and fdatasync'd; `append` does not wait, but
 * its line still goes out in order with the next commit. After a write or fsync error the writer
 * refuses everything (a failed fsync leaves the file's state unknown), and the error is reported
 * to every pending and later caller.
 */
export class JournalWriter {
  readonly #groupCommitMs: number;
  readonly #segments: Segment[];
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #failure: Error | undefined;
  #closed = false;
  #bytes = 0;

  constructor(opts: JournalWriterOptions) {
    this.#groupCommitMs = opts.groupCommitMs;
    this.#segments = [{ path: opts.path, lines: [], waiters: [] }];
  }

  /** bytes appended to the current journal file by this writer */
  get bytes(): number {
    return this.#bytes;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  append(line: string): void {
    this.#check();
    this.#current().lines.push(line);
    this.#bytes += Buffer.byteLength(line);
    this.#kick();
  }

  appendDurable(line: string): Promise<void> {
    this.append(line);
    return this.#waitForCurrent();
  }

  /** Resolves once every line appended so far is on disk. */
  flush(): Promise<void> {
    this.#check();
    if (this.#segments.every((s) => s.lines.length === 0) && !this.#draining) return Promise.resolve();
    return this.#waitForCurrent();
  }

  /**
   * Sends later appends to a new file. Takes effect synchronously (so a snapshot taken in the same
   * tick holds exactly the lines before the switch); the old file is flushed and closed first.
   */
  rotate(path: string): void {
    this.#check();
    this.#segments.push({ path, lines: [], waiters: [] });
    this.#bytes = 0;
    this.#kick();
  }

  /** Flushes, then closes the file; later appends throw. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#failure) await this.flush();
    } finally {
      this.#closed = true;
      clearTimeout(this.#timer);
      await this.#draining?.catch(() => undefined);
      for (const s of this.#segments) await s.handle?.close().catch(() => undefined);
    }
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new Error('journal is closed');
  }

  #current(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  #waitForCurrent(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#current().waiters.push({ resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#timer || this.#draining) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draining = this.#drain().finally(() => {
        this.#draining = undefined;
        // Appends that arrived after the drain's last check start the next commit.
        if (!this.#failure && !this.#closed && this.#hasWork()) this.#kick();
      });
    }, this.#groupCommitMs);
  }

  #hasWork(): boolean {
    return this.#segments.length > 1 || this.#segments.some((s) => s.lines.length > 0 || s.waiters.length > 0);
  }

  async #drain(): Promise<void> {
    for (;;) {
      const segment = this.#segments[0]!;
      if (segment.lines.length > 0 || segment.waiters.length > 0) {
        const lines = segment.lines;
        const waiters = segment.waiters;
        segment.lines = [];
        segment.waiters = [];
        try {
          if (lines.length > 0) {
            const handle = await this.#handleFor(segment);
            await handle.write(lines.join(''));
            await handle.datasync();
          }
        } catch (err) {
          this.#fail(err instanceof Error ? err : new Error(String(err)), waiters);
          return;
        }
        for (const w of waiters) w.resolve();
        continue;
      }
      if (this.#segments.length === 1) return;
      // A rotation is pending and this segment is fully on disk: close it, go on with the next.
      await segment.handle?.close();
      this.#segments.shift();
    }
  }

  async #handleFor(segment: Segment): Promise<FileHandle> {
    if (!segment.handle) {
      segment.handle = await open(segment.path, 'a');
      // The file may have just been created: make its directory entry durable too.
      await syncDirectory(dirname(segment.path));
    }
    return segment.handle;
  }

  #fail(err: Error, waiters: Waiter[]): void {
    this.#failure = err;
    for (const w of waiters) w.reject(err);
    for (const s of this.#segments) {
      for (const w of s.waiters) w.reject(err);
      s.waiters = [];
      s.lines = [];
    }
  }
}
