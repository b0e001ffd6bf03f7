// Pipelined acknowledgements: how fast a gateway empties its backlog into a real InfluxDB 1.6
// through the Poste broker and ingest, against the size of its in-flight window (batches published
// and awaiting their PUBACK; a PUBACK means written). Window 1 — stop and wait, one batch per round
// trip to the store — is the baseline, run in the same process on the same backlog.
//
// The backlog is made once, the way it happens in the field: the uplink is down while the devices
// report over the agent's real LAN MQTT endpoint, so every reading lands in the agent's disk spool.
// Each window size then starts the agents on a copy of those spools with the uplink up and times
// the drain until ingest has written every reading.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startAgent, type Agent } from '@poste/agent';
import { createBroker, createIngest, CredentialsStore } from '@poste/broker';
import { encode, topic, type DeviceState, type LuminaireReading } from '@poste/protocol';
import { openStore } from '@poste/telemetry-store';
import { freePort } from '../harness/free-port';
import { startInfluxDB } from '../harness/influxdb';
import type { BenchModule } from './bench-kit';
import { report } from './bench-kit';

const GATEWAYS = 4;
const DEVICES_PER_GATEWAY = 50;
const WINDOWS = [1, 2, 4, 8, 16];
const T0 = Date.UTC(2026, 0, 1);

function reading(device: string, k: number): LuminaireReading {
  return {
    device,
    ts: T0 + k * 60_000,
    activePower: 84.5,
    activeEnergy: 1_000 + k * 1.4,
    dimLevel: 70,
    voltage: 221.7,
    current: 0.39,
    powerFactor: 0.97,
    operatingHours: 100 + k / 60,
    switchOnCounter: 12,
    status: 'ok',
  };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gateway-window bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fills one gateway's telemetry spool with `perDevice` readings from each device, uplink down. */
async function makeBacklog(gateway: string, dataDir: string, perDevice: number): Promise<number> {
  const agent = await startAgent({
    gatewayId: gateway,
    north: { url: `mqtt://127.0.0.1:${await freePort()}` },
    local: { port: 0 },
    logLevel: 'silent',
    dataDir,
  });
  try {
    const devices = Array.from({ length: DEVICES_PER_GATEWAY }, (_, d) => `${gateway}-lum-${d}`);
    await Promise.all(
      devices.map(async (device) => {
        const client = await connectAsync(`mqtt://127.0.0.1:${agent.localPort}`, { clientId: device, reconnectPeriod: 0 });
        const birth: DeviceState = { v: 1, kind: 'luminaire', status: 'online', seq: 0, ts: T0, group: 'g1', nominalPowerW: 120 };
        await client.publishAsync(topic('localDeviceState', { device }), encode(birth), { qos: 1, retain: true });
        // QoS 1: the agent acknowledges a reading once it is in the spool.
        for (let k = 0; k < perDevice; k += 20)
          await Promise.all(
            Array.from({ length: Math.min(20, perDevice - k) }, (_, i) =>
              client.publishAsync(topic('localTelemetry', { device }), encode({ kind: 'luminaire', ...reading(device, k + i) }), {
                qos: 1,
              }),
            ),
          );
        await client.endAsync();
      }),
    );
    const spooled = agent.stats().uplink.spools.telemetry.depth;
    return spooled;
  } finally {
    await agent.stop();
  }
}

interface DrainResult {
  window: number;
  seconds: number;
  readings: number;
  perGatewayPerSecond: number;
}

async function drain(window: number, backlogDirs: string[], expected: number, influxUrl: string): Promise<DrainResult> {
  let credentials = CredentialsStore.empty();
  const passwords: string[] = [];
  for (let g = 0; g < GATEWAYS; g++) {
    const r = await credentials.withGateway(`gw${g}`, 'campinas');
    credentials = r.store;
    passwords.push(r.password);
  }
  const logger = pino({ level: 'warn' });
  const broker = await createBroker({
    credentials,
    logger,
    registry: new Registry(),
    // A backlog replay is a burst by design; the per-gateway publish-rate defence is not what is measured.
    guard: { publish: { messagesPerSecond: 1_000_000, messagesBurst: 1_000_000, bytesPerSecond: 1024 ** 3 } },
  });
  const db = `window_${window}`;
  const store = await openStore({ kind: 'influxdb1', url: influxUrl, database: db });
  await store.init();
  const ingest = createIngest({ broker, store, directory: credentials.directory(), logger });
  const port = await broker.listen(0, '127.0.0.1');
  const runDirs = backlogDirs.map((dir) => {
    const copy = mkdtempSync(join(tmpdir(), `poste-window-${window}-`));
    cpSync(dir, copy, { recursive: true });
    return copy;
  });
  const agents: Agent[] = [];
  try {
    const started = performance.now();
    for (let g = 0; g < GATEWAYS; g++)
      agents.push(
        await startAgent({
          gatewayId: `gw${g}`,
          north: { url: `mqtt://127.0.0.1:${port}`, username: `gw${g}`, password: passwords[g] },
          local: { port: 0 },
          logLevel: 'silent',
          dataDir: runDirs[g],
          spool: { maxInFlight: window },
        }),
      );
    await waitFor(() => ingest.stats().pointsWritten >= expected, 600_000, `${expected} readings written with window ${window}`);
    const seconds = (performance.now() - started) / 1000;
    const readings = ingest.stats().pointsWritten;
    return { window, seconds, readings, perGatewayPerSecond: readings / GATEWAYS / seconds };
  } finally {
    await Promise.all(agents.map((a) => a.stop({ abrupt: true })));
    await ingest.close();
    await broker.close();
    await store.close();
    for (const d of runDirs) rmSync(d, { recursive: true, force: true });
  }
}

export const gatewayWindowBench: BenchModule = {
  name: 'gateway-window',
  description: `backlog drain into InfluxDB 1.6, readings/s per gateway against the in-flight window (${GATEWAYS} gateways × ${DEVICES_PER_GATEWAY} luminaires; window 1 = stop-and-wait baseline)`,
  async run({ quick }) {
    const perDevice = quick ? 40 : 200;
    const influx = await startInfluxDB();
    const root = mkdtempSync(join(tmpdir(), 'poste-window-backlog-'));
    try {
      const dirs: string[] = [];
      let expected = 0;
      for (let g = 0; g < GATEWAYS; g++) {
        const dir = join(root, `gw${g}`);
        expected += await makeBacklog(`gw${g}`, dir, perDevice);
        dirs.push(dir);
      }
      const made = GATEWAYS * DEVICES_PER_GATEWAY * perDevice;
      if (expected !== made) console.log(`   MISS: ${made} readings published by devices, ${expected} in the spools`);
      const results: DrainResult[] = [];
      for (const w of WINDOWS) results.push(await drain(w, dirs, expected, influx.url));
      const base = results[0]!;
      for (const r of results)
        report(`gateway-window: window ${String(r.window).padStart(2)}`, {
          'readings/s per gateway': Math.round(r.perGatewayPerSecond),
          'total readings/s': Math.round(r.readings / r.seconds),
          's to drain': r.seconds.toFixed(2),
          'ratio to window 1': (r.perGatewayPerSecond / base.perGatewayPerSecond).toFixed(2),
        });
      console.log(
        `   backlog: ${expected} readings (${perDevice} per luminaire) in ${GATEWAYS} agents' disk spools; agent batches ≤ 500 readings; ingest writes 2 batches at a time; drain time includes the agents' connect`,
      );
    } finally {
      await influx.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
