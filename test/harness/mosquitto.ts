import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signalGroup, spawnOwned } from './children';
import { freePort, waitFor } from './free-port';

export interface RunningMosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const MOSQUITTO = '/usr/sbin/mosquitto';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Debian's mosquitto on a free loopback port with a generated config in a temp dir (anonymous,
 * no persistence): a real third-party broker for the agent's northbound link.
 */
export async function startMosquitto(): Promise<RunningMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'poste-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join('\n'));
  const child: ChildProcess = spawnOwned(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4_000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitFor(
      `mosquitto on ${port}`,
      async () => {
        if (exited) throw new Error(`mosquitto exited early: ${stderr}`);
        return portOpen(port);
      },
      10_000,
    );
  } catch (err) {
    signalGroup(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (!exited) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        signalGroup(child, 'SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
