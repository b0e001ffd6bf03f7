import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { encode, topic, type Ack, type GatewayState, type ReportedConfig } from '@poste/protocol';
import { startAgent, type Agent } from './agent';
import { ManualTimers, connectDevice, deviceState, silentLogger, startNorthPeer, waitFor, type NorthPeer } from './test-support';

const GW = 'gw-test';

async function setup(extra: { batchMaxReadings?: number; dataDir?: string } = {}) {
  const north = await startNorthPeer();
  const timers = new ManualTimers();
  const agent = await startAgent({
    gatewayId: GW,
    north: { url: north.url },
    local: { port: 0 },
    telemetry: { batchMaxReadings: extra.batchMaxReadings ?? 3, batchMaxDelayMs: 1_000 },
    commandTimeoutMs: 5_000,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    ...(extra.dataDir !== undefined && { dataDir: extra.dataDir }),
  });
  await agent.whenNorthConnected();
  const clients: MqttClient[] = [];
  const device = async (id: string, kind: 'luminaire' | 'ap', extraState = {}, opts: { autoAck?: boolean } = {}) => {
    const d = await connectDevice(agent.localPort, id, deviceState(kind, 'online', extraState), opts);
    clients.push(d.client);
    await waitFor(`${id} registered`, () => agent.devices().some((r) => r.id === id));
    return d;
  };
  const teardown = async () => {
    for (const c of clients) c.end(true);
    await agent.stop();
    await north.close();
  };
  return { north, timers, agent, device, teardown };
}

function luminaireReading(device: string, ts: number, extra = {}) {
  return {
    kind: 'luminaire',
    device,
    ts,
    activePower: 40,
    activeEnergy: 1234.5,
    dimLevel: 50,
    voltage: 230,
    current: 0.2,
    powerFactor: 0.95,
    operatingHours: 100,
    switchOnCounter: 10,
    status: 'ok',
    ...extra,
  };
}

async function sendCommand(north: NorthPeer, agent: Agent, body: Record<string, unknown>): Promise<Ack> {
  const id = String(body.id);
  await north.publish(topic('command', { gateway: GW }), { v: 1, ...body });
  const ackTopic = topic('ack', { gateway: GW });
  await waitFor(`ack ${id}`, () => north.on(ackTopic).some((a) => (a as Ack).id === id));
  void agent;
  return north.on(ackTopic).find((a) => (a as Ack).id === id) as Ack;
}

test('agent: gateway birth, device births and wills build the registry and go north retained', async () => {
  const { north, agent, device, teardown } = await setup();
  try {
    await waitFor('gateway birth', () => north.on(topic('gatewayState', { gateway: GW })).length > 0);
    const birth = north.on(topic('gatewayState', { gateway: GW }))[0] as GatewayState;
    assert.equal(birth.status, 'online');
    assert.equal(birth.seq, 1);

    const lum = await device('lum-1', 'luminaire', { group: 'main-st', nominalPowerW: 60, model: 'L60' });
    await device('ap-1', 'ap');
    const rec = agent.devices().find((d) => d.id === 'lum-1');
    assert.equal(rec?.group, 'main-st');
    assert.equal(rec?.status, 'online');
    const northState = topic('deviceState', { gateway: GW, device: 'lum-1' });
    await waitFor('device state north', () => north.on(northState).length > 0);

    lum.client.end(true); // abrupt: the local broker publishes the device's last will
    await waitFor('lum-1 offline', () => agent.devices().find((d) => d.id === 'lum-1')?.status === 'offline');
    await waitFor('offline state north', () => north.on(northState).some((s) => (s as { status: string }).status === 'offline'));
    assert.equal(agent.devices().find((d) => d.id === 'lum-1')?.group, 'main-st', 'metadata kept across the will');
  } finally {
    await teardown();
  }
});

test('agent: telemetry batches by size and by delay, group filled from the birth', async () => {
  const { north, timers, agent, device, teardown } = await setup({ batchMaxReadings: 3 });
  try {
    const lum = await device('lum-1', 'luminaire', { group: 'main-st' });
    const t = topic('localTelemetry', { device: 'lum-1' });
    for (let i = 0; i < 4; i++) await lum.client.publishAsync(t, encode(luminaireReading('lum-1', 1000 + i)), { qos: 1 });
    const batchTopic = topic('luminaireTelemetry', { gateway: GW });
    await waitFor('size-triggered batch', () => north.on(batchTopic).length === 1);
    const first = north.on(batchTopic)[0] as { v: number; seq: number; readings: Array<Record<string, unknown>> };
    assert.equal(first.seq, 0);
    assert.equal(first.readings.length, 3);
    assert.equal(first.readings[0]!.group, 'main-st');
    assert.equal('kind' in first.readings[0]!, false, 'local kind tag stripped');

    await waitFor('4th reading buffered', () => agent.stats().pending.luminaire === 1);
    timers.advance(1_000);
    await waitFor('delay-triggered batch', () => north.on(batchTopic).length === 2);
    const second = north.on(batchTopic)[1] as { seq: number; readings: unknown[] };
    assert.equal(second.seq, 1);
    assert.equal(second.readings.length, 1);

    const ap = await device('ap-1', 'ap');
    await ap.client.publishAsync(
      topic('localTelemetry', { device: 'ap-1' }),
      encode({
        kind: 'ap',
        device: 'ap-1',
        ts: 5,
        capacityKbps: 10_000,
        uptime: 60,
        clients: { household: 2, telemedicine: 1, public: 3 },
        bytes: { household: 1, telemedicine: 2, public: 3 },
      }),
      { qos: 1 },
    );
    await lum.client.publishAsync(
      topic('localEvent', { device: 'lum-1' }),
      encode({ device: 'lum-1', ts: 6, type: 'motion', active: true }),
      { qos: 1 },
    );
    await waitFor('ap + event buffered', () => agent.stats().pending.ap === 1 && agent.stats().pending.events === 1);
    timers.advance(1_000);
    await waitFor('ap batch', () => north.on(topic('apTelemetry', { gateway: GW })).length === 1);
    await waitFor('event batch', () => north.on(topic('events', { gateway: GW })).length === 1);
    const events = north.on(topic('events', { gateway: GW }))[0] as { events: Array<{ type: string }> };
    assert.equal(events.events[0]?.type, 'motion');
  } finally {
    await teardown();
  }
});

test('agent: malformed device payloads are counted and the agent carries on', async () => {
  const { agent, device, teardown } = await setup({ batchMaxReadings: 1 });
  try {
    const lum = await device('lum-1', 'luminaire');
    const t = topic('localTelemetry', { device: 'lum-1' });
    await lum.client.publishAsync(t, Buffer.from('{not json'), { qos: 1 });
    await lum.client.publishAsync(t, encode(luminaireReading('lum-1', 1, { dimLevel: 250 })), { qos: 1 });
    await lum.client.publishAsync(t, encode(luminaireReading('lum-2', 1)), { qos: 1 }); // id ≠ topic
    await lum.client.publishAsync(topic('localDeviceState', { device: 'lum-9' }), encode({ v: 1, kind: 'toaster' }), { qos: 1 });
    await lum.client.publishAsync(t, encode(luminaireReading('lum-1', 2)), { qos: 1 });
    await waitFor('good reading after bad ones', () => agent.stats().inbox.luminaireReadings === 1);
    const s = agent.stats();
    assert.equal(s.rejected.deviceTelemetry, 3);
    assert.equal(s.rejected.deviceState, 1);
    assert.equal(s.batches.luminaire, 1);
  } finally {
    await teardown();
  }
});

test('agent: commands are relayed to devices and acked; expired and unknown targets are refused', async () => {
  const { north, timers, agent, device, teardown } = await setup();
  try {
    const now = timers.clock.now();
    const a = await device('lum-a', 'luminaire', { group: 'g1' });
    await device('lum-b', 'luminaire', { group: 'g1' });
    const silent = await device('lum-silent', 'luminaire', {}, { autoAck: false });

    const done = await sendCommand(north, agent, {
      id: 'c1',
      target: { device: 'lum-a' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'dim',
      level: 30,
    });
    assert.equal(done.outcome, 'done');
    assert.deepEqual(a.commands[0], { v: 1, id: 'c1', expiresAt: now + 60_000, action: 'dim', level: 30 });

    const expired = await sendCommand(north, agent, {
      id: 'c2',
      target: { device: 'lum-a' },
      issuedAt: now - 10,
      expiresAt: now - 1,
      action: 'dim',
      level: 30,
    });
    assert.equal(expired.outcome, 'expired');
    assert.equal(a.commands.length, 1, 'expired command not relayed');

    const unknown = await sendCommand(north, agent, {
      id: 'c3',
      target: { device: 'nope' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'clearOverride',
    });
    assert.equal(unknown.outcome, 'unknownTarget');

    const group = await sendCommand(north, agent, {
      id: 'c4',
      target: { group: 'g1' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'dim',
      level: 80,
    });
    assert.equal(group.outcome, 'done');
    assert.deepEqual(group.results?.map((r) => `${r.device}:${r.outcome}`).sort(), ['lum-a:done', 'lum-b:done']);

    await north.publish(topic('command', { gateway: GW }), {
      v: 1,
      id: 'c5',
      target: { device: 'lum-silent' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'identify',
    });
    await waitFor('command reached silent device', () => silent.commands.length === 1);
    timers.advance(5_000);
    await waitFor('timeout ack', () => north.on(topic('ack', { gateway: GW })).some((x) => (x as Ack).id === 'c5'));
    assert.equal((north.on(topic('ack', { gateway: GW })).find((x) => (x as Ack).id === 'c5') as Ack).outcome, 'timeout');

    const bad = await sendCommand(north, agent, {
      id: 'c6',
      target: { device: 'lum-a' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'explode',
    });
    assert.equal(bad.outcome, 'rejected');
    assert.equal(agent.stats().rejected.command, 1);

    const stateTopic = topic('gatewayState', { gateway: GW });
    const birthsBefore = (north.on(stateTopic) as GatewayState[]).length;
    const rebirth = await sendCommand(north, agent, {
      id: 'c7',
      target: { gateway: true },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'rebirth',
    });
    assert.equal(rebirth.outcome, 'done');
    const births = north.on(stateTopic) as GatewayState[];
    assert.equal(births.length, birthsBefore + 1, 'a rebirth republishes the birth');
    // Same MQTT session, same seq: the will registered at connect still matches the latest birth.
    assert.equal(births.at(-1)?.seq, births[0]?.seq);
    assert.equal(births.at(-1)?.status, 'online');
    assert.equal(births.at(-1)?.devices?.luminaires, 3);

    const direct = await agent.commandDevice('lum-b', { action: 'dim', level: 10 });
    assert.equal(direct.outcome, 'done');
  } finally {
    await teardown();
  }
});

test('agent: desired config applied (telemetry limits, scheduler section) or rejected with the path', async () => {
  const { north, agent, device, teardown } = await setup({ batchMaxReadings: 100 });
  try {
    const reported = topic('configReported', { gateway: GW });
    const scheduler = {
      site: { timeZone: 'America/Sao_Paulo', latitude: -22.9, longitude: -47.06 },
      programs: [
        {
          id: 'night',
          steps: [
            { kind: 'fixed', time: '18:00', level: 100 },
            { kind: 'fixed', time: '06:00', level: 0 },
          ],
        },
      ],
      calendars: [{ id: 'c', rules: [], defaultProgram: 'night' }],
    };
    await north.publish(
      topic('configDesired', { gateway: GW }),
      { v: 1, version: 3, config: { telemetry: { batchMaxReadings: 1, batchMaxDelayMs: 1_000 }, scheduler } },
      true,
    );
    await waitFor('reported applied', () => north.on(reported).length === 1);
    assert.equal((north.on(reported)[0] as ReportedConfig).status, 'applied');
    assert.equal(agent.appliedConfig().version, 3);
    assert.deepEqual(agent.schedulerConfig(), scheduler);

    const lum = await device('lum-1', 'luminaire');
    await lum.client.publishAsync(topic('localTelemetry', { device: 'lum-1' }), encode(luminaireReading('lum-1', 1)), { qos: 1 });
    await waitFor('batch of one under the new limit', () => north.on(topic('luminaireTelemetry', { gateway: GW })).length === 1);

    await north.publish(topic('configDesired', { gateway: GW }), { v: 1, version: 4, config: { telemetry: { batchMaxReadings: 0 } } });
    await waitFor('reported rejected', () => north.on(reported).length === 2);
    const r = north.on(reported)[1] as ReportedConfig;
    assert.equal(r.status, 'rejected');
    assert.equal(r.version, 3);
    assert.equal(r.rejectedVersion, 4);
    assert.equal(r.error?.path, 'config.telemetry.batchMaxReadings');

    // A scheduler section the engine cannot use: refused with its path, the program in force stays.
    await north.publish(topic('configDesired', { gateway: GW }), {
      v: 1,
      version: 5,
      config: { scheduler: { ...scheduler, programs: [] } },
    });
    await waitFor('scheduler rejected', () => north.on(reported).length === 3);
    const r2 = north.on(reported)[2] as ReportedConfig;
    assert.equal(r2.status, 'rejected');
    assert.equal(r2.rejectedVersion, 5);
    assert.equal(r2.error?.path, 'config.scheduler.programs');
    assert.deepEqual(agent.schedulerConfig(), scheduler);
  } finally {
    await teardown();
  }
});

test('agent: birth seq persists across restarts in the data dir', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-agent-'));
  try {
    const first = await setup({ dataDir });
    await first.teardown();
    const second = await setup({ dataDir });
    try {
      const stateTopic = topic('gatewayState', { gateway: GW });
      await waitFor('birth', () => second.north.on(stateTopic).length > 0);
      assert.equal((second.north.on(stateTopic)[0] as GatewayState).seq, 2);
    } finally {
      await second.teardown();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
