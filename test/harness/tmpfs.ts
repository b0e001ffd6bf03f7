import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  /** the mount point */
  readonly dir: string;
  /** Fills the filesystem to the last byte (a filler file); returns the bytes it took. */
  fill(): Promise<number>;
  /** Removes the filler: the space is back. */
  free(): Promise<void>;
  /** Unmounts and removes the mount point. */
  unmount(): Promise<void>;
}

/**
 * A small tmpfs of `sizeMiB` on a fresh mount point: a disk a test can fill. Needs root (the test
 * machines and CI run as root); when mounting is not permitted it throws saying so, so a scenario
 * that needs a full disk fails loudly instead of passing without one.
 */
export async function mountTmpfs(sizeMiB: number): Promise<Tmpfs> {
  const dir = await mkdtemp(join(tmpdir(), 'poste-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  } catch (err) {
    await rmdir(dir).catch(() => {});
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new Error(`cannot mount a ${sizeMiB} MiB tmpfs on ${dir} (the full-disk fault test needs root or CAP_SYS_ADMIN): ${detail}`);
  }
  const filler = join(dir, 'filler.bin');
  return {
    dir,
    async fill() {
      const f = await open(filler, 'a');
      let written = 0;
      try {
        // Big chunks first, then ever smaller ones, until not one more byte fits.
        for (let chunk = 1 << 20; chunk >= 1; chunk >>= 2) {
          const buf = Buffer.alloc(chunk, 0xa5);
          for (;;) {
            try {
              const { bytesWritten } = await f.write(buf);
              written += bytesWritten;
              if (bytesWritten < chunk) break;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        await f.close();
      }
      return written;
    },
    free: () => rm(filler, { force: true }),
    async unmount() {
      await run('umount', [dir]);
      await rmdir(dir);
    },
  };
}
