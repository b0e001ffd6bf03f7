import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The redis-server the city started for its broker cluster (when no --redis URL was given). */
export interface OwnRedis {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number | undefined;
  readonly dir: string;
  /** Stops it (SIGTERM, SIGKILL after 3 s) and removes its directory. */
  stop(): Promise<void>;
  /** At once and synchronously (SIGKILL, directory removed): for a process about to exit without a clean stop. */
  killNow(): void;
}

/** What the user sees when redis-server is not installed. */
export class RedisServerMissing extends Error {}

const START_TIMEOUT_MS = 10_000;

/** A port the kernel just handed out on loopback (closed again: redis-server binds it next). */
function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Redis on loopback answers PING with +PONG once it has loaded its data and accepts commands. */
export function redisAnswersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let reply = '';
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d: Buffer) => {
      reply += d.toString('utf8');
      if (reply.includes('\r\n')) {
        s.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts `redis-server` (from PATH) on loopback, on an ephemeral port, its files in a temp dir of
 * its own. It holds only what the broker nodes share while the city runs (sessions, retained
 * configs, fan-out): no snapshot, no append-only file — the city republishes its desired configs
 * on every start, and the directory goes when the city stops.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'poste-city-redis-'));
  const port = await ephemeralPort();
  let stderr = '';
  let child: ChildProcess;
  try {
    child = await new Promise<ChildProcess>((resolve, reject) => {
      const c = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      c.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new RedisServerMissing(
                '--nodes needs redis-server, which is not installed (not on PATH): install it (Debian/Ubuntu: apt-get install redis-server) or give a running Redis with --redis redis://HOST:PORT',
              )
            : err,
        ),
      );
      c.once('spawn', () => resolve(c));
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const keep = (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await redisAnswersPing(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, dir, stop, killNow };
}
