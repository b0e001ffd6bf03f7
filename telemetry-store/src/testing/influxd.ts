import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

export interface RunningInfluxDB {
  /** base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** where influxd keeps its config, meta, data and WAL */
  dir: string;
  /** Stops the server (SIGTERM, or `SIGKILL` for a crash) and keeps its data, for restart(). */
  halt(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port with the same data; resolves when it answers /ping. */
  restart(): Promise<void>;
  /** Stops it for good and removes the directory (unless the caller supplied `dir`). */
  stop(): Promise<void>;
}

export interface StartInfluxDBOptions {
  /** the influxd binary; by default `influxd` found on PATH (Debian installs /usr/bin/influxd) */
  binary?: string;
  /** run in this existing directory (e.g. a small tmpfs, to fill the disk); left in place by stop() */
  dir?: string;
}

/**
 * The config is written in full (not patched from `influxd config`) so that the only listeners are
 * the HTTP API and the RPC bind address, both on loopback: tests must not collide with a system
 * InfluxDB or expose anything.
 */
function configFile(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, 'meta')}"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  index-version = "inmem"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10m0s"

[coordinator]
  write-timeout = "10s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  https-enabled = false
  unix-socket-enabled = false
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[ifql]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  enabled = false
`;
}

/**
 * Starts a private influxd (Debian's 1.6) on free loopback ports in a temporary directory, for
 * tests; stop() kills it and removes the directory. halt() and restart() take it down and bring it
 * back on the same port with the same data (fault tests: the store goes away mid-run).
 */
export async function startInfluxDB(options: StartInfluxDBOptions = {}): Promise<RunningInfluxDB> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'poste-influxdb-')));
  const httpPort = await freePort();
  let rpcPort = await freePort();
  while (rpcPort === httpPort) rpcPort = await freePort();
  const confPath = join(dir, 'influxdb.conf');
  await writeFile(confPath, configFile(dir, httpPort, rpcPort));
  const url = `http://127.0.0.1:${httpPort}`;
  let server: InfluxdProcess | undefined = await launch(options.binary ?? 'influxd', confPath, url).catch(async (err: unknown) => {
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    throw err;
  });

  const halt = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const running = server;
    server = undefined;
    await running?.halt(signal);
  };
  return {
    url,
    dir,
    halt,
    async restart() {
      if (server !== undefined) throw new Error('influxd: restart() while it runs; halt() it first');
      server = await launch(options.binary ?? 'influxd', confPath, url);
    },
    async stop() {
      await halt();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

interface InfluxdProcess {
  halt(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** Spawns influxd with `confPath` and resolves once `url` answers /ping (killing it if it never does). */
async function launch(binary: string, confPath: string, url: string): Promise<InfluxdProcess> {
  const stderr: string[] = [];
  const child: ChildProcess = spawn(binary, ['run', '-config', confPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, INFLUXDB_CONFIG_PATH: confPath },
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr.push(b.toString());
    if (stderr.length > 50) stderr.shift();
  });
  let exited: number | string | null | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code) => {
      exited = code;
      resolve();
    });
    // A binary that cannot be started (not installed, not executable) emits 'error', not 'exit'.
    child.on('error', (err) => {
      exited = err.message;
      resolve();
    });
  });

  const halt = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (exited !== undefined) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitPromise;
    clearTimeout(timer);
  };

  try {
    await waitFor('influxd /ping', async () => {
      if (exited !== undefined) throw new Error(`influxd exited (${exited}): ${stderr.join('')}`);
      try {
        const res = await fetch(`${url}/ping`);
        return res.status === 204;
      } catch {
        return false;
      }
    });
  } catch (err) {
    await halt('SIGKILL');
    throw err;
  }
  return { halt };
}
