import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

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

const DIR_PREFIX = 'poste-city-redis-';

/** The full path of an executable on PATH, or undefined. */
function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * The command line that runs redis-server so that it dies with the city. util-linux's `setpriv
 * --pdeathsig` (in every Debian system: util-linux is essential) sets the kernel's parent-death
 * signal and execs redis-server, which keeps it: a city killed with SIGKILL, which runs no exit
 * handler, no longer leaves its redis-server running. Without setpriv, redis-server is started
 * directly and only a clean stop (or the exit handler) ends it.
 */
export function redisCommand(
  redisServer: string,
  args: readonly string[],
  /** null: not installed */
  setpriv: string | null = onPath('setpriv') ?? null,
): { file: string; args: string[] } {
  return setpriv === null
    ? { file: redisServer, args: [...args] }
    : { file: setpriv, args: ['--pdeathsig', 'SIGTERM', '--', redisServer, ...args] };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The redis-server recorded in `dir`, if that process is still running from `dir`. */
async function runningRedis(dir: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(join(dir, 'redis.pid'), 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // a pid is reused once its process is gone: only a process started with this --dir is ours
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(dir) ? pid : undefined;
}

/**
 * Clears up after earlier cities that were killed without a chance to stop their redis-server
 * (SIGKILL runs no exit handler): each directory records the city's pid (`city.pid`); when that
 * city is gone, a redis-server still running from the directory (started without setpriv) is
 * killed and the directory removed. A directory without `city.pid` is one another city is just
 * setting up, and is left alone. Returns the directories removed.
 */
export async function removeStaleRedisDirs(parent = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(parent, name);
    const owner = Number.parseInt(await readFile(join(dir, 'city.pid'), 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    const orphan = await runningRedis(dir);
    if (orphan !== undefined) process.kill(orphan, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * Starts `redis-server` (from PATH) on loopback, on an ephemeral port, its files in a temp dir of
 * its own. It holds only what the broker nodes share while the city runs (sessions, retained
 * configs, fan-out): no snapshot, no append-only file — the city republishes its desired configs
 * on every start, and the directory goes when the city stops.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const redisServer = onPath('redis-server');
  if (redisServer === undefined) {
    throw new RedisServerMissing(
      '--nodes needs redis-server, which is not installed (not on PATH): install it (Debian/Ubuntu: apt-get install redis-server) or give a running Redis with --redis redis://HOST:PORT',
    );
  }
  await removeStaleRedisDirs();
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await writeFile(join(dir, 'city.pid'), `${process.pid}\n`);
  const port = await ephemeralPort();
  let stderr = '';
  let child: ChildProcess;
  try {
    child = await new Promise<ChildProcess>((resolve, reject) => {
      const command = redisCommand(redisServer, [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--pidfile',
        join(dir, 'redis.pid'),
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ]);
      const c = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      c.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new RedisServerMissing(`${command.file} is not there: ${err.message}`) : err),
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
