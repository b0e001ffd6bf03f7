// The agent as a gateway runs it: the single-file bundle `npm run build` makes
// (agent/tsup.bundle.config.ts → poste-agent.mjs) started by plain `node` with the flags and
// environment of the shipped systemd unit (agent/packaging/systemd/poste-agent.service), configured
// by a JSON file like /etc/poste/agent.json. No tsx, no source conditions: what is measured is what
// is deployed. The one addition is `--expose-gc`, so each /metrics scrape collects first and the RSS
// it reports is the steady state, not the garbage of the last burst.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const UNIT = join(ROOT, 'agent/packaging/systemd/poste-agent.service');
const PROCD = join(ROOT, 'agent/packaging/openwrt/poste-agent.init');
/** Built here, not over agent/dist, so a bench run never replaces a build someone is packaging. */
const OUT_DIR = join(ROOT, 'node_modules/.cache/poste-bench/bundle');

export interface GatewayRuntime {
  /** node flags between `/usr/bin/node` and the bundle in the unit's ExecStart */
  nodeFlags: string[];
  /** the unit's Environment= settings */
  env: Record<string, string>;
}

/**
 * The runtime settings the systemd unit ships, read from the unit itself so the bench cannot
 * drift from it; the OpenWrt procd script must start node with the same flags (checked here too).
 */
export function gatewayRuntime(): GatewayRuntime {
  const unit = readFileSync(UNIT, 'utf8');
  // The unit runs the bundle, or the A/B-slot launcher that imports the bundle into its own process
  // (so the node flags are the agent's either way).
  const exec = /^ExecStart=\/usr\/bin\/node (.*?)\s*\/usr\/lib\/poste-agent\/poste-agent(?:-launcher)?\.mjs /m.exec(unit);
  if (exec === null) throw new Error(`${UNIT}: no ExecStart=/usr/bin/node … /usr/lib/poste-agent/poste-agent[-launcher].mjs line`);
  const nodeFlags = (exec[1] ?? '').split(/\s+/).filter((f) => f !== '');
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=([A-Z_][A-Z0-9_]*)=(\S*)$/gm)) env[m[1] as string] = m[2] as string;
  const procd = readFileSync(PROCD, 'utf8');
  const command = /procd_set_param command \/usr\/bin\/node (.*?)\s*"\$[A-Z_]+"/.exec(procd);
  const procdFlags = (command?.[1] ?? '').split(/\s+/).filter((f) => f !== '');
  if (procdFlags.join(' ') !== nodeFlags.join(' ')) {
    throw new Error(`node flags differ: systemd unit [${nodeFlags.join(' ')}], procd script [${procdFlags.join(' ')}]`);
  }
  return { nodeFlags, env };
}

/** Builds the installable bundle with the package's own tsup config; returns its path. */
export function buildAgentBundle(): string {
  const tsup = join(ROOT, 'node_modules/.bin/tsup');
  const r = spawnSync(tsup, ['--config', 'tsup.bundle.config.ts', '--out-dir', OUT_DIR, '--silent'], {
    cwd: join(ROOT, 'agent'),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`tsup bundle build failed (${r.status}): ${r.stderr}`);
  return join(OUT_DIR, 'poste-agent.mjs');
}

export interface DeployedAgent {
  readonly child: ChildProcess;
  /** resolves with the exit code once the process has exited */
  readonly exited: Promise<number | null>;
}

/** Starts `node <unit flags> --expose-gc <bundle> --config <file>` with the unit's environment. */
export function startDeployedAgent(bundle: string, configFile: string, runtime: GatewayRuntime): DeployedAgent {
  const child = spawn(process.execPath, [...runtime.nodeFlags, '--expose-gc', bundle, '--config', configFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...runtime.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

/** A bare Node process with the same flags and environment, after a full GC: what the agent's figure sits on. */
export async function bareNodeRss(runtime: GatewayRuntime): Promise<number> {
  const child = spawn(
    process.execPath,
    [...runtime.nodeFlags, '--expose-gc', '-e', 'globalThis.gc(); process.stdout.write(String(process.memoryUsage().rss))'],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...runtime.env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return Number(out);
}

/** One scrape of the agent's /metrics as name{labels} → value (the agent collects first: --expose-gc). */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}
