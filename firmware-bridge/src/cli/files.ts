import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { CliError, EXIT } from './exit-codes';
import type { ProgressSink } from './progress';

/** Reads a whole (small) file: a key, a manifest, a device list. A failure is a file error (exit 3). */
export async function readSmallFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError(EXIT.file, `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

export async function statFile(path: string, what: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    throw new CliError(EXIT.file, `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Reads a JSON file; not JSON is a file error naming the file and the parser's reason. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = (await readSmallFile(path, what)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(EXIT.file, `${what} ${path} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * sha256 and size of the first `limit` bytes of a file (all of it without a limit), read as a
 * stream so a gateway image or a block device never has to fit in memory.
 */
export async function hashFile(
  path: string,
  progress: ProgressSink,
  label: string,
  limit?: number,
): Promise<{ size: number; sha256: string }> {
  const total = limit ?? (await statFile(path, 'file')).size;
  const bar = progress.start(label, total);
  const hash = createHash('sha256');
  let size = 0;
  try {
    const stream = createReadStream(path, limit === undefined ? {} : { start: 0, end: limit - 1 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.byteLength;
      bar.advance(chunk.byteLength);
    }
  } catch (err) {
    throw new CliError(EXIT.file, `cannot read ${path}: ${(err as Error).message}`);
  } finally {
    bar.done();
  }
  return { size, sha256: hash.digest('hex') };
}
