// Shared by the LAN endpoint's hostile-client tests: an agent whose poste LAN takes device
// credentials, a steady legitimate device whose acknowledged rate is measured, the agent's
// refusal counters from /metrics, and the mosquitto clients as the hostile party.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { hashDeviceSecret, startAgent, type Agent } from '@poste/agent';
import { encode, topic } from '@poste/protocol';
import { pino } from 'pino';
import { signalGroup, spawnOwned } from './harness/children';
import { startMosquitto, type RunningMosquitto } from './harness/mosquitto';
import { waitFor } from './harness/free-port';

export const secretOf = (id: string): string => `lan-secret-of-${id}`;

export interface LanRig {
  agent: Agent;
  port: number;
  dir: string;
  /** `poste_agent_lan_refused_total` for one reason, from the agent's /metrics. */
  refused(reason: string): Promise<number>;
  close(): Promise<void>;
}

/** An agent with device credentials for `devices`, its LAN on a free port, /metrics on, the cloud a mosquitto. */
export async function startLanRig(
  devices: readonly string[],
  limits: Record<string, number> = {},
  auth: 'credentials' | 'open' = 'credentials',
): Promise<LanRig> {
  const dir = mkdtempSync(join(tmpdir(), 'poste-lan-'));
  const credentialsFile = join(dir, 'devices.json');
  writeFileSync(
    credentialsFile,
    JSON.stringify({ version: 1, devices: devices.map((id) => ({ id, secretHash: hashDeviceSecret(secretOf(id)) })) }),
  );
  let north: RunningMosquitto | undefined;
  try {
    north = await startMosquitto();
    const agent = await startAgent({
      configVersion: 3,
      gatewayId: 'gw-lan',
      north: { url: north.url },
      adapters: [
        {
          kind: 'poste',
          port: 0,
          auth: auth === 'credentials' ? { mode: 'credentials', credentialsFile } : { mode: 'open' },
          limits,
        },
      ],
      metrics: { port: 0 },
      logger: pino({ level: 'silent' }),
      dimming: { enabled: false },
    });
    const metricsPort = agent.metricsPort!;
    const mosquitto = north;
    return {
      agent,
      port: agent.localPort,
      dir,
      refused: async (reason) => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith(`poste_agent_lan_refused_total{adapter="poste",reason="${reason}"}`));
        if (line === undefined) throw new Error(`no refusal counter for ${reason} in /metrics`);
        return Number(line.slice(line.lastIndexOf(' ') + 1));
      },
      close: async () => {
        await agent.stop({ abrupt: true });
        await mosquitto.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await north?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export function luminaireReading(device: string, ts: number): Record<string, unknown> {
  return {
    kind: 'luminaire',
    device,
    ts,
    activePower: 40,
    activeEnergy: 1_000 + (ts % 1_000_000) / 1_000,
    dimLevel: 50,
    voltage: 230,
    current: 0.2,
    powerFactor: 0.95,
    operatingHours: 100,
    switchOnCounter: 10,
    status: 'ok',
  };
}

/** A legitimate device with credentials (mqtt.js): its birth, its commands acked, and readings at a steady offered rate. */
export interface SteadyDevice {
  client: MqttClient;
  commands: Array<{ id: string }>;
  /** Readings acknowledged (PUBACK) so far. */
  readonly acked: number;
  /**
   * Acknowledged readings per second while `during` runs, and over the second just before it (the
   * baseline, under the same machine load: other work on a shared CI machine slows both alike).
   */
  rateDuring(during: () => Promise<unknown>): Promise<{ perSecond: number; baseline: number; offered: number }>;
  closed: boolean;
  stop(): void;
}

export async function steadyDevice(port: number, id: string, perSecond: number, password = secretOf(id)): Promise<SteadyDevice> {
  const client = connect(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    username: id,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: {
      topic: topic('localDeviceState', { device: id }),
      payload: encode({ v: 1, kind: 'luminaire', status: 'offline', seq: 1, ts: Date.now() }),
      qos: 1,
      retain: true,
    },
  });
  await waitFor(`${id} connected`, () => client.connected, 10_000);
  await client.subscribeAsync(topic('localCommand', { device: id }), { qos: 1 });
  await client.publishAsync(
    topic('localDeviceState', { device: id }),
    encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: Date.now() }),
    {
      qos: 1,
      retain: true,
    },
  );
  const dev = {
    client,
    commands: [] as Array<{ id: string }>,
    acked: 0,
    closed: false,
  };
  client.on('close', () => {
    dev.closed = true;
  });
  client.on('message', (_t, payload) => {
    const cmd = JSON.parse(payload.toString('utf8')) as { id: string };
    dev.commands.push(cmd);
    client.publish(topic('localAck', { device: id }), encode({ v: 1, id: cmd.id, outcome: 'done', ts: Date.now() }), { qos: 1 });
  });
  let ts = Date.now();
  const timer = setInterval(() => {
    ts = Math.max(ts + 1, Date.now());
    client.publish(topic('localTelemetry', { device: id }), encode(luminaireReading(id, ts)), { qos: 1 }, (err) => {
      if (!err) dev.acked++;
    });
  }, 1_000 / perSecond);
  return Object.assign(dev, {
    async rateDuring(during: () => Promise<unknown>) {
      const b0 = dev.acked;
      const bt0 = performance.now();
      await new Promise((r) => setTimeout(r, 1_000));
      const baseline = (dev.acked - b0) / ((performance.now() - bt0) / 1_000);
      const a0 = dev.acked;
      const t0 = performance.now();
      await during();
      // Let the window last at least a second, so a quick attack still measures a rate.
      const left = 1_000 - (performance.now() - t0);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      const seconds = (performance.now() - t0) / 1_000;
      return { perSecond: (dev.acked - a0) / seconds, baseline, offered: perSecond };
    },
    stop() {
      clearInterval(timer);
      client.end(true);
    },
  });
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs mosquitto_pub / mosquitto_sub (or any command) to its end, or kills it after `timeoutMs`. */
export function runTool(cmd: string, args: readonly string[], timeoutMs = 5_000, stdin?: Buffer): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawnOwned(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdin.on('error', () => undefined);
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
