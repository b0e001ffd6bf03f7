// A device is acknowledged only once what it sent is in the gateway's spool: the PUBACK comes from
// inside the LAN broker's authorizePublish, after the append. Shown three ways: the record is on
// disk when the device's publish callback runs; a full priority spool withholds the PUBACK; and an
// agent SIGKILLed right after acknowledging delivers every acknowledged reading after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { encode, topic, type LuminaireReading } from '@poste/protocol';
import { startAgent } from '../../core/agent';
import { connectDevice, deviceState, ManualTimers, silentLogger, waitFor } from '../../core/test-support';
import { startTestBroker } from '../../uplink/test-broker';

const GW = 'gw-spool';
const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

function reading(ts: number): Record<string, unknown> {
  return {
    kind: 'luminaire',
    device: 'lum-1',
    ts,
    activePower: 40,
    activeEnergy: 1_000 + ts,
    dimLevel: 50,
    voltage: 230,
    current: 0.2,
    powerFactor: 0.95,
    operatingHours: 100,
    switchOnCounter: 10,
    status: 'ok',
  };
}

/** Every byte of the spool's segment files, as text: a record's JSON is findable in it. */
function spoolText(dataDir: string, spool: 'telemetry' | 'priority'): string {
  const dir = join(dataDir, 'spool', spool);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('');
}

test('ack after spool: when the device’s publish callback runs, its reading is already in the spool file', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-ack-'));
  const north = await startTestBroker();
  north.accepting = false; // uplink down: nothing leaves the spool
  const timers = new ManualTimers();
  const agent = await startAgent({
    gatewayId: GW,
    configVersion: 2,
    north: { url: north.url },
    adapters: [{ kind: 'poste', port: 0 }],
    dataDir,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
  });
  const { client } = await connectDevice(agent.localPort, 'lum-1', deviceState('luminaire', 'online'));
  try {
    for (let ts = 1_000; ts < 1_050; ts++) {
      await new Promise<void>((resolve, reject) =>
        client.publish(topic('localTelemetry', { device: 'lum-1' }), encode(reading(ts)), { qos: 1 }, (err) => {
          if (err) return reject(err);
          // Synchronously, in the PUBACK callback: the agent appended before it acknowledged.
          assert.ok(spoolText(dataDir, 'telemetry').includes(`"ts":${ts},`), `reading ${ts} on disk when acked`);
          resolve();
        }),
      );
    }
    // Invalid data is acknowledged too (resending cannot fix it) but not spooled.
    await client.publishAsync(topic('localTelemetry', { device: 'lum-1' }), encode({ ...reading(2_000), dimLevel: 400 }), { qos: 1 });
    assert.equal(agent.stats().rejected.deviceTelemetry, 1);
    assert.equal(agent.stats().uplink.spools.telemetry.depth, 50);
  } finally {
    client.end(true);
    await agent.stop({ abrupt: true });
    await north.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('ack after spool: a full priority spool withholds the PUBACK — the device is disconnected unacknowledged and keeps its event', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-ack-'));
  const north = await startTestBroker();
  north.accepting = false;
  const timers = new ManualTimers();
  const agent = await startAgent({
    gatewayId: GW,
    configVersion: 2,
    north: { url: north.url },
    // The per-client rate limit would slow this burst long before the spool fills: lifted here.
    adapters: [{ kind: 'poste', port: 0, limits: { publishPerSecond: 100_000, publishBurst: 100_000 } }],
    spool: { priorityMaxBytes: 1024 * 1024 },
    dataDir,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
  });
  const { client } = await connectDevice(agent.localPort, 'lum-1', deviceState('luminaire', 'online'));
  try {
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    let acked = 0;
    let unacked = 0;
    const detail = 'x'.repeat(480);
    // ~560 bytes an event: 2,500 are more than 1 MiB.
    const sends = Array.from({ length: 2_500 }, (_, i) =>
      client
        .publishAsync(
          topic('localEvent', { device: 'lum-1' }),
          encode({ device: 'lum-1', ts: i + 1, type: 'tamper', active: true, detail }),
          { qos: 1 },
        )
        .then(
          () => void acked++,
          () => void unacked++,
        ),
    );
    await closed;
    client.end(true); // fails what MQTT.js still holds, so every send settles
    await Promise.all(sends);
    const up = agent.stats().uplink;
    assert.ok(up.refused >= 1, 'the agent refused to store at least one event');
    assert.ok(unacked > 0, 'and the device saw no PUBACK for it');
    // Every acknowledged event is spooled. Some spooled ones may lack their PUBACK (it was still
    // being written when the refusal closed the connection): the device resends them, a harmless
    // duplicate downstream (same series and timestamp).
    assert.ok(up.spools.priority.depth >= acked, `spooled ${up.spools.priority.depth} ≥ acknowledged ${acked}`);
    assert.ok(up.spools.priority.depth < acked + unacked, 'the refused ones are not in the spool');
    assert.ok(up.spools.priority.bytes <= 1024 * 1024);
  } finally {
    client.end(true);
    await agent.stop({ abrupt: true });
    await north.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const addr = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return addr !== null && typeof addr === 'object' ? addr.port : 0;
}

/** The agent's CLI in its own process, as a gateway runs it; resolves once it says it started. */
async function startChildAgent(configFile: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'agent/src/cli.ts', '--config', configFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    'the child agent to start',
    () => {
      if (child.exitCode !== null) throw new Error(`agent exited early:\n${out}`);
      return out.includes('"agent started"');
    },
    30_000,
  );
  return { child, output: () => out };
}

test('ack after spool: an agent SIGKILLed right after acknowledging delivers every acknowledged reading after a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-ack-kill-'));
  const north = await startTestBroker();
  const lumTopic = topic('luminaireTelemetry', { gateway: GW });
  // The cloud takes the batches but never acknowledges them: everything stays in flight or spooled.
  north.holdWhen = (t) => t === lumTopic;
  const lanPort = await freePort();
  const configFile = join(dataDir, 'agent.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      configVersion: 2,
      gatewayId: GW,
      north: { url: north.url, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } },
      adapters: [{ kind: 'poste', port: lanPort }],
      telemetry: { batchMaxReadings: 20, batchMaxDelayMs: 50 },
      dataDir: join(dataDir, 'data'),
      logLevel: 'info',
      dimming: { enabled: false },
    }),
  );
  let agent = await startChildAgent(configFile);
  let device: MqttClient | undefined;
  try {
    device = connect(`mqtt://127.0.0.1:${lanPort}`, { clientId: 'lum-1', protocolVersion: 4, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      device!.once('connect', () => resolve());
      device!.once('error', reject);
    });
    const acked: number[] = [];
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        device!
          .publishAsync(topic('localTelemetry', { device: 'lum-1' }), encode(reading(10_000 + i)), { qos: 1 })
          .then(() => void acked.push(10_000 + i)),
      ),
    );
    agent.child.kill('SIGKILL'); // at once: batches in flight, the rest spooled, cursors as they were
    await new Promise((r) => agent.child.once('exit', r));
    device.end(true);
    assert.equal(acked.length, 300);

    north.holdWhen = () => false;
    agent = await startChildAgent(configFile);
    await waitFor(
      'every acknowledged reading delivered',
      () => {
        const got = new Set(north.on(lumTopic).flatMap((b) => (b as { readings: LuminaireReading[] }).readings.map((r) => r.ts)));
        return acked.every((ts) => got.has(ts));
      },
      30_000,
    );
    assert.match(agent.output(), /spool holds undelivered records from a previous run/);
  } finally {
    device?.end(true);
    if (agent.child.exitCode === null && agent.child.signalCode === null) {
      agent.child.kill('SIGKILL');
      await new Promise((r) => agent.child.once('exit', r));
    }
    await north.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
