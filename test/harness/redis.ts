import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswersPing } from '@poste/city';
import { signalGroup, spawnOwned } from './children';
import { freePort, waitFor } from './free-port';

export interface RunningRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** SIGKILL (crash) or SIGTERM (clean shutdown: the append-only file is fsynced first), then wait for the exit. */
  stop(how?: 'kill' | 'term'): Promise<void>;
  /** Starts it again on the same port and directory: the append-only file brings the data back. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * Debian's redis-server on a free loopback port, its data in a temp dir, appendonly with an fsync
 * per write (the setting the broker README asks of a cluster's Redis): a restart keeps the broker
 * state, as it would in production.
 */
export async function startRedis(opts: { databases?: number } = {}): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'poste-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
    const databases = ['--databases', String(opts.databases ?? 16)];
    const c = spawnOwned(REDIS_SERVER, [...args, ...databases, '--save', '', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let gone = false;
    exited = new Promise<void>((resolve) =>
      c.once('exit', () => {
        gone = true;
        resolve();
      }),
    );
    const keep = (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4_000);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    await waitFor(
      `redis-server on ${port}`,
      async () => {
        if (gone) throw new Error(`redis-server exited early: ${stderr}`);
        return redisAnswersPing(port);
      },
      10_000,
    );
  };
  const stop = async (how: 'kill' | 'term' = 'term') => {
    if (child && child.exitCode === null && child.signalCode === null) {
      signalGroup(child, how === 'kill' ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
  };
  try {
    await launch();
  } catch (err) {
    await stop('kill');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    restart: launch,
    remove: async () => {
      await stop('kill');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
