// Sensor event → luminaire command through the gateway, end to end on the agent's real LAN MQTT
// endpoint: a device publishes `motion`, the agent's dimming runner feeds the engine's sensor fast
// path, and each luminaire of the zone receives its `dim` command on its own MQTT session. Also the
// agent's RSS with 1,000 luminaires + 50 APs connected, beside a bare Node process of the same run.
//
// The agent is the deployed one (deployed-agent.ts): the installable bundle on plain node with the
// systemd unit's flags and environment, configured by a JSON file, in its own process so its RSS is
// its own, not the 1,000 device clients' (those and the timing are in this process).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectAsync, type MqttClient } from 'mqtt';
import { encode, topic, type DeviceCommand, type DeviceState } from '@poste/protocol';
import { freePort, waitFor } from '../harness/free-port';
import type { BenchModule } from './bench-kit';
import { percentile, report } from './bench-kit';
import { bareNodeRss, buildAgentBundle, gatewayRuntime, scrapeMetrics, startDeployedAgent, type GatewayRuntime } from './deployed-agent';

const ZONE_SIZE = 10;
const BASE_LEVEL = 50;
const HOLD_MS = 300;
const TICK_MS = 100;
/**
 * The connected sample is taken right after the connect burst, while V8 still holds the heap it grew
 * for it; a second one after this long with the devices connected and quiet, once V8's memory reducer
 * has run (measured: 22 → 18 MB of heap reserved, ≈ 5 MB less RSS): what a gateway runs at.
 */
const SETTLE_MS = 30_000;

interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** CPU seconds (user + system) the agent process has used so far; NaN where /proc is not there */
  cpuS: number;
}

/** utime + stime of a process from /proc (Linux), in seconds. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks: USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

function schedulerConfig(zones: number) {
  return {
    // São Paulo, in its own zone: the scheduler's Intl time-zone data is part of a real gateway's memory.
    site: { timeZone: 'America/Sao_Paulo', latitude: -23.5, longitude: -46.6 },
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

async function sample(metricsPort: number, pid: number | undefined): Promise<MemorySample> {
  const m = await scrapeMetrics(metricsPort);
  return {
    rss: m.get('process_resident_memory_bytes') ?? Number.NaN,
    heapUsed: m.get('nodejs_heap_size_used_bytes') ?? Number.NaN,
    heapTotal: m.get('nodejs_heap_size_total_bytes') ?? Number.NaN,
    cpuS: cpuSeconds(pid),
  };
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

async function measure(luminaires: number, aps: number, events: number, settleMs: number, runtime: GatewayRuntime, bundle: string) {
  const zones = Math.ceil(luminaires / ZONE_SIZE);
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-gw-bench-'));
  // The scheduler config as the cloud would have pushed it: already applied when the agent starts.
  writeFileSync(
    join(dataDir, 'agent-state.json'),
    JSON.stringify({ birthSeq: 0, config: { version: 1, config: { scheduler: schedulerConfig(zones) } } }),
  );
  const port = await freePort();
  const metricsPort = await freePort();
  const configFile = join(dataDir, 'agent.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      configVersion: 3,
      gatewayId: 'gw-bench',
      north: { url: `mqtt://127.0.0.1:${await freePort()}` }, // uplink down: the gateway works on its own
      adapters: [{ kind: 'poste', port, auth: { mode: 'open' } }],
      dataDir,
      metrics: { port: metricsPort },
      logLevel: 'warn',
      dimming: { tickIntervalMs: TICK_MS },
    }),
  );
  const agent = startDeployedAgent(bundle, configFile, runtime);
  const clients: MqttClient[] = [];
  let received = 0;
  try {
    await waitFor(
      'the agent serves /metrics',
      () =>
        scrapeMetrics(metricsPort).then(
          () => true,
          () => false,
        ),
      30_000,
      50,
    );
    const idle = await sample(metricsPort, agent.child.pid);
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
          received++; // each one acknowledged 'done' just below
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
    const connected = await sample(metricsPort, agent.child.pid);
    await new Promise((r) => setTimeout(r, settleMs));
    const settled = await sample(metricsPort, agent.child.pid);

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
    const after = await sample(metricsPort, agent.child.pid);
    return { connectS, idle, connected, settled, after, perLuminaire, perZone, missed, spacingMs, received };
  } finally {
    for (const c of clients) c.end(true);
    agent.child.kill('SIGTERM');
    const stopped = await Promise.race([agent.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5_000))]);
    if (!stopped) agent.child.kill('SIGKILL');
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
    const runtime = gatewayRuntime();
    const bundle = buildAgentBundle();
    const bare = await bareNodeRss(runtime);
    const r = await measure(luminaires, aps, events, quick ? 10_000 : SETTLE_MS, runtime, bundle);
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
    report('agent RSS, no devices', {
      rss_MB: r.idle.rss / MB,
      heap_MB: r.idle.heapUsed / MB,
      heap_total_MB: r.idle.heapTotal / MB,
      over_bare_MB: (r.idle.rss - bare) / MB,
    });
    report(
      `agent RSS, ${luminaires} lum + ${aps} AP`,
      {
        rss_MB: r.connected.rss / MB,
        heap_MB: r.connected.heapUsed / MB,
        heap_total_MB: r.connected.heapTotal / MB,
        over_bare_MB: (r.connected.rss - bare) / MB,
        ratio_to_bare: r.connected.rss / bare,
      },
      'RSS ≤ 64 MB (1,000 + 50)',
    );
    report(`agent RSS, ${luminaires} lum + ${aps} AP, settled ${quick ? 10 : SETTLE_MS / 1000} s`, {
      rss_MB: r.settled.rss / MB,
      heap_MB: r.settled.heapUsed / MB,
      heap_total_MB: r.settled.heapTotal / MB,
      over_bare_MB: (r.settled.rss - bare) / MB,
      ratio_to_bare: r.settled.rss / bare,
    });
    report('agent RSS, after the events', {
      rss_MB: r.after.rss / MB,
      heap_MB: r.after.heapUsed / MB,
      heap_total_MB: r.after.heapTotal / MB,
      over_bare_MB: (r.after.rss - bare) / MB,
      commands_received_and_acked: r.received,
    });
    // CPU the agent spent is a load-independent sign that a memory setting did not cost it its work.
    report('agent CPU', {
      connect_s: r.connected.cpuS - r.idle.cpuS,
      events_s: r.after.cpuS - r.connected.cpuS,
      per_command_ms: ((r.after.cpuS - r.connected.cpuS) * 1000) / Math.max(1, r.received),
    });
    const env = Object.entries(runtime.env).map(([k, v]) => `${k}=${v} `);
    console.log(
      `   (agent: the installable bundle, ${env.join('')}node ${runtime.nodeFlags.join(' ')} --expose-gc poste-agent.mjs --config …, flags and environment read from agent/packaging/systemd/poste-agent.service; RSS scraped from its /metrics after a full GC)`,
    );
  },
};
