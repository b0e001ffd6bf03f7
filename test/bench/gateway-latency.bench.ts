// Sensor event → luminaire command through the gateway, end to end on the agent's real LAN MQTT
// endpoint: a device publishes `motion`, the agent's dimming runner feeds the engine's sensor fast
// path, and each luminaire of the zone receives its `dim` command on its own MQTT session. Also the
// agent's RSS with 1,000 luminaires + 50 APs connected.
//
// The agent runs in a child process (this same file, started with CHILD_FLAG) so its RSS is its own,
// not the 1,000 device clients'. Publish and receive are both timed in this (parent) process.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { encode, topic, type DeviceCommand, type DeviceState } from '@poste/protocol';
import type { BenchModule } from './bench-kit';
import { percentile, report } from './bench-kit';

const CHILD_FLAG = '--gateway-bench-agent';
/**
 * V8 setting for a small gateway: a 1 MB young generation instead of 16 MB (the agent's garbage is
 * short-lived and small): RSS −16 MB idle, −32 MB with 1,000 + 50 devices. (`--single-threaded`
 * would save 4 MB more but moves GC work onto the event loop.) The bare baseline runs with it too.
 */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=1'];
const ZONE_SIZE = 10;
const BASE_LEVEL = 50;
const HOLD_MS = 300;
const TICK_MS = 100;

type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'memory'; rss: number; heapUsed: number; sent: number; acked: number; failed: number };

function schedulerConfig(zones: number) {
  return {
    site: { timeZone: 'UTC', latitude: -23.5, longitude: -46.6 },
    programs: [{ id: 'flat', steps: [{ kind: 'fixed', time: '00:00', level: BASE_LEVEL }] }],
    calendars: [{ id: 'cal', rules: [], defaultProgram: 'flat' }],
    groups: Array.from({ length: zones }, (_, z) => ({ id: `zone-${z}`, calendar: 'cal' })),
    // The first luminaire of each zone carries the zone's motion sensor.
    dynamicControls: Array.from({ length: zones }, (_, z) => ({
      id: `pir-${z}`,
      sensors: [`lum-${z * ZONE_SIZE}`],
      groups: [`zone-${z}`],
      mode: 'max',
      level: 100,
      holdMs: HOLD_MS,
    })),
  };
}

/** Child side: the agent alone, answering memory questions over IPC. */
async function runAgentChild(): Promise<void> {
  const { startAgent } = await import('@poste/agent');
  const { freePort } = await import('../harness/free-port');
  const agent = await startAgent({
    gatewayId: 'gw-bench',
    north: { url: `mqtt://127.0.0.1:${await freePort()}` }, // uplink down: the gateway works on its own
    local: { port: 0 },
    logLevel: 'silent',
    dataDir: process.env.POSTE_BENCH_DATA_DIR,
    dimming: { tickIntervalMs: TICK_MS },
  });
  const send = (m: ChildMessage): void => void process.send?.(m);
  process.on('message', (m: { type: string }) => {
    if (m.type === 'memory') {
      // After a full GC: the steady-state figure, not whatever garbage the last burst left.
      (globalThis as { gc?: () => void }).gc?.();
      const d = agent.stats().extensions.dimming;
      const mem = process.memoryUsage();
      send({ type: 'memory', rss: mem.rss, heapUsed: mem.heapUsed, sent: d?.sent ?? 0, acked: d?.acked ?? 0, failed: d?.failed ?? 0 });
    } else if (m.type === 'stop') {
      void agent.stop({ abrupt: true }).then(() => process.exit(0));
    }
  });
  send({ type: 'ready', port: agent.localPort });
}

function ask(child: ChildProcess, type: 'memory'): Promise<Extract<ChildMessage, { type: 'memory' }>> {
  return new Promise((resolve) => {
    const on = (m: ChildMessage): void => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ type });
  });
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let k = 0; k < items.length; k += size) await Promise.all(items.slice(k, k + size).map(fn));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * How to start the agent child. Preferably as one bundled .mjs (what tsup ships to a gateway: our
 * code bundled, npm dependencies external) run by plain node, because `--import tsx` runs its
 * loader in an extra worker thread that alone adds tens of MB of RSS. esbuild comes with tsup/tsx.
 */
async function agentChildEntry(): Promise<{ file: string; execArgv: string[]; runtime: string }> {
  const self = fileURLToPath(import.meta.url);
  try {
    const { build } = await import('esbuild');
    const outfile = join(dirname(self), '../../node_modules/.cache/poste-bench/gateway-agent.mjs');
    await build({
      entryPoints: [self],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      external: ['aedes', 'mqtt', 'pino', 'zod'],
      logLevel: 'silent',
    });
    return {
      file: outfile,
      execArgv: ['--expose-gc', ...GATEWAY_NODE_FLAGS],
      runtime: `bundled .mjs on plain node ${GATEWAY_NODE_FLAGS.join(' ')}`,
    };
  } catch {
    return {
      file: self,
      execArgv: ['--expose-gc', ...GATEWAY_NODE_FLAGS, '--conditions=source', '--import', 'tsx'],
      runtime: 'node --import tsx (includes the loader thread)',
    };
  }
}

/** A bare Node process with the same flags, after a full GC: what the agent's own figure sits on. */
async function bareNodeRss(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'poste-bare-'));
  const file = join(dir, 'bare.cjs');
  writeFileSync(file, 'globalThis.gc(); process.send(process.memoryUsage().rss, () => process.exit(0));\n');
  try {
    const child = fork(file, [], { execArgv: ['--expose-gc', ...GATEWAY_NODE_FLAGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return await new Promise<number>((resolve, reject) => {
      child.once('message', (rss: number) => resolve(rss));
      child.once('error', reject);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(luminaires: number, aps: number, events: number) {
  const zones = Math.ceil(luminaires / ZONE_SIZE);
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-gw-bench-'));
  writeFileSync(
    join(dataDir, 'agent-state.json'),
    JSON.stringify({ birthSeq: 0, config: { version: 1, config: { scheduler: schedulerConfig(zones) } } }),
  );
  const entry = await agentChildEntry();
  const child = fork(entry.file, [CHILD_FLAG], {
    execArgv: entry.execArgv,
    env: { ...process.env, POSTE_BENCH_DATA_DIR: dataDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const clients: MqttClient[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: ChildMessage) => (m.type === 'ready' ? resolve(m.port) : reject(new Error('unexpected'))));
      child.once('exit', (code) => reject(new Error(`agent child exited ${code}`)));
    });
    const idle = await ask(child, 'memory');
    const url = `mqtt://127.0.0.1:${port}`;

    // Per zone: when its event was published and how many of its luminaires have their boost yet.
    const pending = new Map<number, { t0: number; left: number; last: number }>();
    const perLuminaire: number[] = [];
    const perZone: number[] = [];
    let baseCommands = 0;
    const lumClients = new Map<number, MqttClient>();
    const device = async (k: number, kind: 'luminaire' | 'ap'): Promise<void> => {
      const id = kind === 'luminaire' ? `lum-${k}` : `ap-${k}`;
      const birth: DeviceState = {
        v: 1,
        kind,
        status: 'online',
        seq: 1,
        ts: Date.now(),
        ...(kind === 'luminaire' && { group: `zone-${Math.floor(k / ZONE_SIZE)}`, nominalPowerW: 60 }),
      };
      const stateTopic = topic('localDeviceState', { device: id });
      const c = await connectAsync(url, {
        clientId: id,
        reconnectPeriod: 0,
        will: { topic: stateTopic, payload: encode({ ...birth, status: 'offline' }), qos: 1, retain: true },
      });
      clients.push(c);
      if (kind === 'luminaire') {
        lumClients.set(k, c);
        const zone = Math.floor(k / ZONE_SIZE);
        const ackTopic = topic('localAck', { device: id });
        c.on('message', (_t, payload) => {
          const at = performance.now();
          const cmd = JSON.parse(payload.toString('utf8')) as DeviceCommand;
          c.publish(ackTopic, encode({ v: 1, id: cmd.id, outcome: 'done', ts: Date.now() }), { qos: 1 });
          if (cmd.action !== 'dim') return;
          if (cmd.level === BASE_LEVEL) baseCommands++;
          const p = pending.get(zone);
          if (cmd.level !== 100 || p === undefined) return;
          perLuminaire.push(at - p.t0);
          p.last = at;
          if (--p.left === 0) {
            perZone.push(at - p.t0);
            pending.delete(zone);
          }
        });
        await c.subscribeAsync(topic('localCommand', { device: id }), { qos: 1 });
      }
      await c.publishAsync(stateTopic, encode(birth), { qos: 1, retain: true });
    };
    const t = Date.now();
    await inBatches(
      Array.from({ length: luminaires }, (_, k) => k),
      100,
      (k) => device(k, 'luminaire'),
    );
    await inBatches(
      Array.from({ length: aps }, (_, k) => k),
      50,
      (k) => device(k, 'ap'),
    );
    const connectS = (Date.now() - t) / 1000;
    await waitUntil(() => baseCommands >= luminaires, 20_000);
    const connected = await ask(child, 'memory');

    // Events cycle through the zones; a zone fires again only after its hold and the next tick put it back.
    const spacingMs = Math.max(10, Math.ceil((HOLD_MS + 3 * TICK_MS) / zones));
    let missed = 0;
    for (let e = -20; e < events; e++) {
      const zone = ((e + 20) * 7) % zones;
      if (pending.has(zone)) missed++;
      const sensor = lumClients.get(zone * ZONE_SIZE);
      if (sensor === undefined) continue;
      const t0 = performance.now();
      if (e >= 0) pending.set(zone, { t0, left: Math.min(ZONE_SIZE, luminaires - zone * ZONE_SIZE), last: t0 });
      sensor.publish(
        topic('localEvent', { device: `lum-${zone * ZONE_SIZE}` }),
        encode({ device: `lum-${zone * ZONE_SIZE}`, ts: Date.now(), type: 'motion', active: true }),
        { qos: 1 },
      );
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    await waitUntil(() => pending.size === 0, 3_000);
    missed += pending.size;
    const after = await ask(child, 'memory');
    return { connectS, idle, connected, after, perLuminaire, perZone, missed, spacingMs, runtime: entry.runtime };
  } finally {
    for (const c of clients) c.end(true);
    child.send({ type: 'stop' });
    await new Promise((r) => setTimeout(r, 200));
    if (child.exitCode === null) child.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const MB = 1024 * 1024;

export const gatewayLatencyBench: BenchModule = {
  name: 'gateway-latency',
  description: "sensor event → luminaire dim command through the agent's LAN MQTT endpoint; agent RSS with 1,000 luminaires + 50 APs",
  async run({ quick }) {
    const luminaires = quick ? 300 : 1_000;
    const aps = quick ? 10 : 50;
    const events = quick ? 300 : 1_000;
    const bare = await bareNodeRss();
    const r = await measure(luminaires, aps, events);
    report(`connect ${luminaires} lum + ${aps} AP`, { s: r.connectS });
    report(
      'sensor→command, per luminaire',
      {
        events,
        commands: r.perLuminaire.length,
        p50_ms: percentile(r.perLuminaire, 50),
        p99_ms: percentile(r.perLuminaire, 99),
        max_ms: percentile(r.perLuminaire, 100),
        spacing_ms: r.spacingMs,
      },
      'p99 ≤ 50 ms',
    );
    report(`sensor→whole zone (${ZONE_SIZE} lum)`, {
      p50_ms: percentile(r.perZone, 50),
      p99_ms: percentile(r.perZone, 99),
      events_incomplete: r.missed,
    });
    report('bare node, same flags (baseline)', { rss_MB: bare / MB });
    report('agent RSS, no devices', { rss_MB: r.idle.rss / MB, heap_MB: r.idle.heapUsed / MB, over_bare_MB: (r.idle.rss - bare) / MB });
    report(
      `agent RSS, ${luminaires} lum + ${aps} AP`,
      {
        rss_MB: r.connected.rss / MB,
        heap_MB: r.connected.heapUsed / MB,
        over_bare_MB: (r.connected.rss - bare) / MB,
        ratio_to_bare: r.connected.rss / bare,
      },
      'RSS ≤ 64 MB (1,000 + 50)',
    );
    report('agent RSS, after the events', {
      rss_MB: r.after.rss / MB,
      heap_MB: r.after.heapUsed / MB,
      sent: r.after.sent,
      acked: r.after.acked,
      failed: r.after.failed,
    });
    console.log(
      `   (agent alone in a child process, ${r.runtime}; RSS after a full GC, includes Node and its npm dependencies: ~68 MB for node + zod + mqtt + aedes + pino alone)`,
    );
  },
};

if (process.argv.includes(CHILD_FLAG)) void runAgentChild();
