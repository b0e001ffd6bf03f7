import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

export interface RunningInfluxDB {
  /** base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  stop(): Promise<void>;
}

export interface StartInfluxDBOptions {
  /** the influxd binary; by default `influxd` found on PATH (Debian installs /usr/bin/influxd) */
  binary?: string;
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
 * tests; stop() kills it and removes the directory.
 */
export async function startInfluxDB(options: StartInfluxDBOptions = {}): Promise<RunningInfluxDB> {
  const dir = await mkdtemp(join(tmpdir(), 'poste-influxdb-'));
  const httpPort = await freePort();
  let rpcPort = await freePort();
  while (rpcPort === httpPort) rpcPort = await freePort();
  const confPath = join(dir, 'influxdb.conf');
  await writeFile(confPath, configFile(dir, httpPort, rpcPort));

  const stderr: string[] = [];
  const child: ChildProcess = spawn(options.binary ?? 'influxd', ['run', '-config', confPath], {
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
  const url = `http://127.0.0.1:${httpPort}`;

  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
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
    await stop();
    throw err;
  }
  return { url, stop };
}
