// Writing a verified image to a target — a disk image file or a block device (an SD card, eMMC,
// a USB stick) — and proving it landed by reading the target back.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { CliError, EXIT } from '../cli/exit-codes';
import type { ProgressSink } from '../cli/progress';

export interface FlashTarget {
  path: string;
  kind: 'block-device' | 'file';
  /** bytes the target holds */
  capacity: number;
  /** a file that does not exist yet (`--create`) */
  isNew: boolean;
}

const WRITE_CHUNK = 1024 * 1024;

/** Capacity of a block device from sysfs (512-byte sectors): stat() reports 0 bytes for devices. */
async function blockDeviceBytes(rdev: number, path: string): Promise<number> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0);
  const sysfs = `/sys/dev/block/${major}:${minor}/size`;
  try {
    return Number((await readFile(sysfs, 'utf8')).trim()) * 512;
  } catch (err) {
    throw new CliError(EXIT.target, `cannot tell the size of block device ${path} (${sysfs}: ${(err as Error).message})`);
  }
}

/**
 * What `path` is and how much it holds. A regular file is a disk image whose size is its capacity
 * (make one with `truncate -s 64M FILE`); `create` allows a file that does not exist yet, sized to
 * the image. Anything else is the wrong target.
 */
export async function inspectTarget(path: string, create: boolean, imageSize: number): Promise<FlashTarget> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (create) return { path, kind: 'file', capacity: imageSize, isNew: true };
      throw new CliError(
        EXIT.target,
        `target ${path} does not exist (give a block device, an existing disk image file, or --create for a new file)`,
      );
    }
    throw new CliError(EXIT.target, `cannot inspect target ${path}: ${(err as Error).message}`);
  }
  if (st.isDirectory()) throw new CliError(EXIT.target, `target ${path} is a directory, not a block device or disk image file`);
  if (st.isBlockDevice()) return { path, kind: 'block-device', capacity: await blockDeviceBytes(st.rdev, path), isNew: false };
  if (st.isFile()) return { path, kind: 'file', capacity: st.size, isNew: false };
  throw new CliError(EXIT.target, `target ${path} is neither a block device nor a regular file`);
}

export function checkFits(target: FlashTarget, imageSize: number): void {
  if (target.capacity < imageSize) {
    throw new CliError(
      EXIT.target,
      `not enough space: target ${target.path} holds ${target.capacity} bytes, the image needs ${imageSize} (${imageSize - target.capacity} more)`,
    );
  }
}

/**
 * Copies the image to the start of the target, hashing what it copies; fsyncs before returning.
 * The target is opened without truncation: a disk image keeps its size, a device its partitions
 * beyond the image. Returns the sha256 of the bytes written.
 */
export async function writeImage(imagePath: string, target: FlashTarget, progress: ProgressSink): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(target.path, target.isNew ? 'wx' : 'r+');
  } catch (err) {
    throw new CliError(EXIT.target, `cannot open target ${target.path} for writing: ${(err as Error).message}`);
  }
  const hash = createHash('sha256');
  let position = 0;
  const total = (await stat(imagePath)).size;
  const bar = progress.start('writing', total);
  try {
    for await (const chunk of createReadStream(imagePath, { highWaterMark: WRITE_CHUNK }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      let off = 0;
      while (off < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, off, chunk.byteLength - off, position);
        off += bytesWritten;
        position += bytesWritten;
      }
      bar.advance(chunk.byteLength);
    }
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOSPC' ? EXIT.target : EXIT.file,
      `writing ${target.path} failed at byte ${position}: ${(err as Error).message}`,
    );
  } finally {
    bar.done();
    await handle.close();
  }
  return hash.digest('hex');
}
