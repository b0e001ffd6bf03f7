// The agent's delivery against a wire-level test broker that decides when each PUBACK goes out:
// the in-flight window, the rewind and in-order replay after a cut, subscriptions before replay,
// and the telemetry spool's drop-oldest overflow reported upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { encode, topic, type DeviceEvent, type LuminaireReading } from '@poste/protocol';
import { startAgent, type Agent } from '../core/agent';
import { ManualTimers, connectDevice, deviceState, silentLogger, waitFor } from '../core/test-support';
import { startTestBroker, type TestBroker } from './test-broker';

const GW = 'gw-delivery';
const LUM_TOPIC = topic('luminaireTelemetry', { gateway: GW });

function reading(device: string, ts: number): Record<string, unknown> {
  return {
    kind: 'luminaire',
    device,
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

interface Setup {
  north: TestBroker;
  timers: ManualTimers;
  agent: Agent;
  device: MqttClient;
  teardown(): Promise<void>;
}

async function setup(
  extra: { batchMaxReadings?: number; dataDir?: string; telemetryMaxBytes?: number; accepting?: boolean } = {},
): Promise<Setup> {
  const north = await startTestBroker();
  north.accepting = extra.accepting ?? true;
  const timers = new ManualTimers();
  const agent = await startAgent({
    gatewayId: GW,
    north: { url: north.url, reconnect: { initialDelayMs: 100, maxDelayMs: 100 } },
    configVersion: 2,
    adapters: [{ kind: 'poste', port: 0 }],
    telemetry: { batchMaxReadings: extra.batchMaxReadings ?? 2, batchMaxDelayMs: 60_000 },
    spool: { maxInFlight: 4, ...(extra.telemetryMaxBytes !== undefined && { telemetryMaxBytes: extra.telemetryMaxBytes }) },
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
    ...(extra.dataDir !== undefined && { dataDir: extra.dataDir }),
  });
  if (north.accepting) await agent.whenNorthConnected();
  const { client } = await connectDevice(agent.localPort, 'lum-1', deviceState('luminaire', 'online', { group: 'g' }));
  await waitFor('lum-1 registered', () => agent.devices().length === 1);
  return {
    north,
    timers,
    agent,
    device: client,
    teardown: async () => {
      client.end(true);
      await agent.stop({ abrupt: true });
      await north.close();
    },
  };
}

const publishReadings = (device: MqttClient, from: number, n: number): Promise<unknown> =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      device.publishAsync(topic('localTelemetry', { device: 'lum-1' }), encode(reading('lum-1', from + i)), { qos: 1 }),
    ),
  );

const deliveredTs = (north: TestBroker): number[] =>
  north.on(LUM_TOPIC).flatMap((b) => (b as { readings: LuminaireReading[] }).readings.map((r) => r.ts));

test('delivery: at most maxInFlight batches await their PUBACK; each PUBACK lets exactly one more out', async () => {
  const s = await setup();
  try {
    s.north.holdWhen = (t) => t === LUM_TOPIC;
    await publishReadings(s.device, 1, 20); // 10 batches of 2
    await waitFor('the window full', () => s.north.held === 4);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.north.held, 4, 'nothing beyond the window was published');
    assert.equal(s.north.on(LUM_TOPIC).length, 4);
    assert.equal(s.agent.stats().uplink.inFlight, 4);
    assert.equal(s.agent.stats().uplink.spools.telemetry.depth, 20, 'every reading stays spooled until its PUBACK');

    s.north.release(1);
    await waitFor('one more batch', () => s.north.on(LUM_TOPIC).length === 5);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.north.on(LUM_TOPIC).length, 5, 'one PUBACK, one more batch');
    assert.equal(s.agent.stats().uplink.spools.telemetry.depth, 18);

    s.north.holdWhen = () => false;
    s.north.release();
    await waitFor('all delivered', () => s.agent.stats().uplink.spools.telemetry.depth === 0);
    assert.deepEqual(
      deliveredTs(s.north),
      Array.from({ length: 20 }, (_, i) => i + 1),
      'in order, each once',
    );
    assert.deepEqual(
      s.north.on(LUM_TOPIC).map((b) => (b as { seq: number }).seq),
      [...Array(10).keys()],
    );
  } finally {
    await s.teardown();
  }
});

test('delivery: after a cut the agent subscribes, births, then resends from the first unacknowledged record, in order', async () => {
  const s = await setup();
  try {
    s.north.holdWhen = (t) => t === LUM_TOPIC;
    await publishReadings(s.device, 1, 6);
    await waitFor('three batches in flight', () => s.north.held === 3);
    s.north.release(1); // readings 1–2 delivered; 3–6 in flight
    await waitFor('first PUBACK counted', () => s.agent.stats().uplink.spools.telemetry.depth === 4);

    s.north.dropConnections();
    await waitFor('link down', () => !s.agent.northConnected);
    await publishReadings(s.device, 7, 4); // spooled while down
    assert.equal(s.agent.stats().uplink.spools.telemetry.depth, 8);

    // A command waits for the agent right at the reconnect: it must be heard before any replay.
    s.north.holdWhen = () => false;
    const conn2Index = s.north.seen.length;
    s.timers.advance(100);
    await waitFor('reconnected', () => s.agent.northConnected);
    await waitFor('backlog delivered', () => s.agent.stats().uplink.spools.telemetry.depth === 0);

    const conn2 = s.north.seen.slice(conn2Index);
    const firstSubscribe = conn2.findIndex((p) => p.cmd === 'subscribe');
    const birth = conn2.findIndex((p) => p.topic === topic('gatewayState', { gateway: GW }));
    const firstReplay = conn2.findIndex((p) => p.topic === LUM_TOPIC);
    assert.ok(
      firstSubscribe >= 0 && firstSubscribe < birth && birth < firstReplay,
      `subscribe (${firstSubscribe}) → birth (${birth}) → replay (${firstReplay})`,
    );

    const replayed = conn2
      .filter((p) => p.topic === LUM_TOPIC)
      .flatMap((p) => (p.json as { readings: LuminaireReading[] }).readings.map((r) => r.ts));
    assert.deepEqual(
      replayed,
      [3, 4, 5, 6, 7, 8, 9, 10],
      'from the first unacknowledged reading, in order, nothing MQTT.js replayed on its own',
    );
    const seqs = s.north.on(LUM_TOPIC).map((b) => (b as { seq: number }).seq);
    assert.deepEqual(seqs, [...Array(seqs.length).keys()], 'batch seq keeps counting: no gap for the cloud to see');
    assert.ok(s.agent.stats().uplink.replayedRecords >= 8);
    assert.equal(s.agent.stats().north.reconnects, 1);
  } finally {
    await s.teardown();
  }
});

test('delivery: a command published right at the reconnect is relayed while the backlog replays', async () => {
  const s = await setup({ batchMaxReadings: 5 });
  const commands: unknown[] = [];
  s.device.on('message', (_t, payload) => {
    const cmd = JSON.parse(payload.toString()) as { id: string };
    commands.push(cmd);
    s.device.publish(topic('localAck', { device: 'lum-1' }), encode({ v: 1, id: cmd.id, outcome: 'done', ts: 1 }), { qos: 1 });
  });
  try {
    s.north.dropConnections();
    await waitFor('link down', () => !s.agent.northConnected);
    await publishReadings(s.device, 1, 400); // 80 batches waiting
    // The cloud acknowledges telemetry slowly: the replay takes a while.
    s.north.holdWhen = (t) => t === LUM_TOPIC;
    const before = s.north.seen.length;
    s.timers.advance(100);
    await waitFor('subscribed again', () => s.north.seen.slice(before).some((p) => p.cmd === 'subscribe'));
    await waitFor('birth', () => s.north.seen.slice(before).some((p) => p.topic === topic('gatewayState', { gateway: GW })));
    s.north.publish(topic('command', { gateway: GW }), {
      v: 1,
      id: 'c-1',
      target: { device: 'lum-1' },
      issuedAt: s.timers.clock.now(),
      expiresAt: s.timers.clock.now() + 60_000,
      action: 'dim',
      level: 30,
    });
    await waitFor('the command reached the device', () => commands.length === 1);
    await waitFor('its ack reached the cloud', () => s.north.on(topic('ack', { gateway: GW })).length === 1);
    assert.ok(s.agent.stats().uplink.spools.telemetry.depth > 300, 'while most of the backlog still waits');
    s.north.holdWhen = () => false;
    s.north.release();
    await waitFor('backlog delivered', () => s.agent.stats().uplink.spools.telemetry.depth === 0);
  } finally {
    await s.teardown();
  }
});

test('delivery: a full telemetry spool drops its oldest readings, counts them and reports a telemetryDropped event upstream', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-delivery-'));
  const s = await setup({ dataDir, telemetryMaxBytes: 1024 * 1024, accepting: false, batchMaxReadings: 500 });
  try {
    // ~270 bytes a record: 6,000 readings are ~1.6 MiB, more than the 1 MiB cap.
    for (let i = 0; i < 6; i++) await publishReadings(s.device, i * 1_000 + 1, 1_000);
    const up = s.agent.stats().uplink;
    assert.ok(up.dropped.records > 0, 'oldest readings dropped');
    assert.ok(up.spools.telemetry.bytes <= 1024 * 1024, `spool within its cap: ${up.spools.telemetry.bytes}`);
    assert.equal(up.dropped.reported, up.dropped.records > 0 ? up.dropped.reported : 0);
    assert.ok(up.dropped.reported >= 1);
    assert.equal(up.spools.telemetry.depth + up.dropped.records, 6_000, 'every reading either kept or counted as dropped');

    s.north.accepting = true;
    s.timers.advance(100);
    await waitFor('connected', () => s.agent.northConnected);
    await waitFor(
      'kept readings delivered',
      () => {
        s.timers.advance(60_000); // lets a partial batch go
        return s.agent.stats().uplink.spools.telemetry.depth === 0;
      },
      20_000,
    );
    const events = s.north.on(topic('events', { gateway: GW })).flatMap((b) => (b as { events: DeviceEvent[] }).events);
    const drops = events.filter((e) => e.type === 'telemetryDropped');
    assert.ok(drops.length >= 1);
    assert.equal(
      drops.reduce((n, e) => n + (e.value ?? 0), 0),
      up.dropped.records,
      'the events add up to what was dropped',
    );
    assert.equal(drops[0]!.device, GW);
    const ts = deliveredTs(s.north);
    assert.equal(ts.at(-1), 6_000, 'the newest reading kept');
    assert.ok(!ts.includes(1), 'the oldest dropped');
    assert.deepEqual(
      ts,
      [...ts].sort((a, b) => a - b),
      'in order',
    );
  } finally {
    await s.teardown();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
