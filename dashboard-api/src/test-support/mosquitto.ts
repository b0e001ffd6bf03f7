import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway mosquitto on a free loopback port (a third-party broker: the fleet link must work with any). */
export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const BINARIES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startMosquitto(): Promise<Mosquitto> {
  const bin = BINARIES.find((b) => existsSync(b));
  if (!bin) throw new Error('mosquitto is not installed (apt-get install mosquitto; test/ensure-services.sh does it)');
  const dir = await mkdtemp(join(tmpdir(), 'poste-dash-mqtt-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  // Readiness by polling the port, bounded by attempts rather than asserting any timing.
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    if (await accepts(port)) {
      return {
        url: `mqtt://127.0.0.1:${port}`,
        port,
        async stop() {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          await exited;
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
  throw new Error(`mosquitto did not start on port ${port}: ${stderr}`);
}
