import { open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Lock files this process holds, so a second open of the same directory here is refused too. */
const heldHere = new Set<string>();

export interface DirLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `dir/LOCK` (holding our pid) so two brokers never write the same journal. A lock left by
 * a process that is gone (SIGKILL, power cut) is taken over; so is one carrying our own pid that
 * this process does not hold — a container restarted with the same pid.
 */
export async function lockDirectory(dir: string): Promise<DirLock> {
  const path = resolve(join(dir, 'LOCK'));
  if (heldHere.has(path)) throw new Error(`broker state directory ${dir} is already open in this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      heldHere.add(path);
      return {
        async release() {
          heldHere.delete(path);
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new Error(`broker state directory ${dir} is in use by process ${owner}`);
      }
      await rm(path, { force: true });
    }
  }
}
