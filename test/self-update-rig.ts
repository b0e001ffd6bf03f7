// What the agent self-update tests share: the real bundles (agent and launcher, built by tsup into
// a temp dir), and a supervisor that does what systemd's `Restart=always` / procd's respawn do —
// start `node poste-agent-launcher.mjs …` and start it again whenever it exits, until stopped.
// Support module for test/agent-self-update*.test.ts.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type SlotState, SlotStateSchema } from '@poste/agent';
import { signalGroup, spawnOwned } from './harness/children';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

export interface Bundles {
  agent: string;
  launcher: string;
}

/** Builds dist-like bundles into `outDir` (not agent/dist: other tests build there concurrently). */
export async function buildBundles(outDir: string): Promise<Bundles> {
  await run('npx', ['tsup', '--config', 'tsup.bundle.config.ts', '--out-dir', outDir], { cwd: join(ROOT, 'agent') });
  return { agent: join(outDir, 'poste-agent.mjs'), launcher: join(outDir, 'poste-agent-launcher.mjs') };
}

export interface GatewaySetup {
  dir: string;
  gatewayId: string;
  mqttUrl: string;
  password: string;
  trustedKeyPem: string;
  model: string;
  bundles: Bundles;
  attempts?: number;
  trialMs?: number;
}

export interface Supervised {
  /** exit codes of every start that ended, in order (null = killed by a signal) */
  readonly exits: (number | null)[];
  readonly starts: number;
  readonly slotsDir: string;
  output(): string;
  /** what state.json says now */
  state(): SlotState;
  /** the launcher wrote its first state (slot a seeded from the packaged bundle) */
  seeded(): boolean;
  /** SIGKILL the running start (power cut of the process); the supervisor starts it again */
  killNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Writes the gateway's config and trust file, then supervises its launcher. */
export async function superviseAgent(g: GatewaySetup): Promise<Supervised> {
  const slotsDir = join(g.dir, 'slots');
  await mkdir(join(g.dir, 'data'), { recursive: true });
  const config = join(g.dir, 'agent.json');
  await writeFile(
    config,
    JSON.stringify({
      configVersion: 3,
      gatewayId: g.gatewayId,
      north: { url: g.mqttUrl, username: g.gatewayId, password: g.password, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } },
      adapters: [{ kind: 'poste', host: '127.0.0.1', port: 0, auth: { mode: 'open' } }],
      dataDir: join(g.dir, 'data'),
      dimming: { enabled: false },
    }),
  );
  const trust = join(g.dir, 'ota-trust.pem');
  await writeFile(trust, g.trustedKeyPem);
  const args = [
    g.bundles.launcher,
    '--slots',
    slotsDir,
    '--factory',
    g.bundles.agent,
    '--attempts',
    String(g.attempts ?? 2),
    '--trial-ms',
    String(g.trialMs ?? 15_000),
    '--',
    '--config',
    config,
    '--ota-trust',
    trust,
    '--ota-model',
    g.model,
    '--log-level',
    'warn',
  ];
  const exits: (number | null)[] = [];
  let out = '';
  let starts = 0;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  const start = (): void => {
    starts++;
    // cwd inside the test dir: no node_modules above it, so only the bundles' own code runs.
    const c = spawnOwned(process.execPath, args, {
      cwd: g.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    const onData = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-100_000));
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    exited = new Promise((resolve) =>
      c.once('exit', (code) => {
        exits.push(code);
        out += `\n--- exit ${code} ---\n`;
        child = null;
        resolve();
        // Restart=always, RestartSec short.
        if (!stopped) setTimeout(() => !stopped && start(), 200);
      }),
    );
  };
  start();
  return {
    exits,
    get starts() {
      return starts;
    },
    slotsDir,
    output: () => out,
    state: () => SlotStateSchema.parse(JSON.parse(readFileSync(join(slotsDir, 'state.json'), 'utf8'))),
    seeded: () => existsSync(join(slotsDir, 'state.json')),
    async killNow() {
      if (child) signalGroup(child, 'SIGKILL');
      await exited;
    },
    async stop() {
      stopped = true;
      if (child) signalGroup(child, 'SIGTERM');
      await exited;
    },
  };
}
