import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { encode, topic, type CommandAction, type DeviceAck, type DeviceCommand, type ReportedConfig } from '@poste/protocol';
import { startAgent } from '../../core/agent';
import type { AppliedConfig } from '../../core/desired-config';
import type { DeviceRecord } from '../../core/device-registry';
import { ManualTimers, connectDevice, deviceState, silentLogger, startNorthPeer, waitFor, type NorthPeer } from '../../core/test-support';
import { attachDimming, schedulerConfigValidator, type DimmingHost, type DimmingStats } from './runner';

const T0 = Date.UTC(2024, 5, 10, 21, 50); // 21:50 UTC, program at 80 until 22:00
const LEASE = 15 * 60_000;
const HOLD = 60_000;

const SCHEDULER = {
  site: { timeZone: 'UTC', latitude: 0, longitude: 0 },
  programs: [
    {
      id: 'night',
      steps: [
        { kind: 'fixed', time: '18:00', level: 80 },
        { kind: 'fixed', time: '22:00', level: 40 },
        { kind: 'fixed', time: '06:00', level: 0 },
      ],
    },
  ],
  calendars: [{ id: 'cal', rules: [], defaultProgram: 'night' }],
  groups: [
    { id: 'main', calendar: 'cal' },
    { id: 'side', calendar: 'cal' },
  ],
  dynamicControls: [{ id: 'pir', sensors: ['sensor-1'], groups: ['main'], mode: 'max', level: 100, holdMs: HOLD }],
};

/** A loopback port nobody listens on: the uplink stays down for the whole test. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return addr !== null && typeof addr === 'object' ? addr.port : 1;
}

type Device = { client: MqttClient; commands: unknown[] };
const dims = (d: Device): DeviceCommand[] => (d.commands as DeviceCommand[]).filter((c) => c.action === 'dim');
const lastDim = (d: Device): (DeviceCommand & { action: 'dim' }) | undefined =>
  dims(d).at(-1) as (DeviceCommand & { action: 'dim' }) | undefined;

async function setup(o: { north?: NorthPeer; validator?: boolean } = {}) {
  const timers = new ManualTimers(T0);
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-dimming-'));
  // The program was applied before this start (persisted): the agent has it even with the uplink down.
  writeFileSync(
    join(dataDir, 'agent-state.json'),
    JSON.stringify({ birthSeq: 0, config: { version: 1, config: { scheduler: SCHEDULER } } }),
  );
  const agent = await startAgent({
    gatewayId: 'gw-dim',
    north: { url: o.north?.url ?? `mqtt://127.0.0.1:${await closedPort()}` },
    local: { port: 0 },
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dataDir,
    dimming: { tickIntervalMs: 1_000, leaseMs: LEASE },
    ...(o.validator === true && { schedulerConfigValidator }),
  });
  const clients: MqttClient[] = [];
  const luminaire = async (id: string, group: string): Promise<Device> => {
    const d = await connectDevice(agent.localPort, id, deviceState('luminaire', 'online', { group, nominalPowerW: 60 }));
    clients.push(d.client);
    await waitFor(`${id} registered`, () => agent.devices().some((r) => r.id === id && r.status === 'online'));
    return d;
  };
  const stats = (): DimmingStats => agent.stats().extensions.dimming!;
  /** One timer second; then waits (real time) until every command sent has its ack. */
  const second = async (): Promise<void> => {
    timers.advance(1_000);
    await waitFor('acks', () => stats().inFlight === 0 && stats().queued === 0);
  };
  const teardown = async () => {
    for (const c of clients) c.end(true);
    await agent.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { agent, timers, luminaire, stats, second, clients, teardown };
}

async function threeLuminaires(luminaire: (id: string, group: string) => Promise<Device>) {
  return { a: await luminaire('lum-a', 'main'), b: await luminaire('lum-b', 'main'), c: await luminaire('lum-c', 'side') };
}

test('dimming: uplink down, program steps reach devices as leased dim commands; nothing sent while nothing changes; leases renewed before expiry', async () => {
  const { agent, timers, luminaire, stats, second, teardown } = await setup();
  try {
    assert.equal(agent.northConnected, false);
    const { a, b, c } = await threeLuminaires(luminaire);
    await second();
    await waitFor('first levels', () => [a, b, c].every((d) => dims(d).length === 1));
    for (const d of [a, b, c])
      assert.deepEqual({ level: lastDim(d)?.level, until: lastDim(d)?.until }, { level: 80, until: T0 + 1_000 + LEASE });
    assert.equal(stats().acked, 3);

    for (let k = 0; k < 5; k++) await second();
    assert.equal(stats().sent, 3, 'no command on ticks where nothing changes');

    // 22:00 program step (the tick at exactly 22:00 sees it).
    timers.advance(T0 + 10 * 60_000 - timers.clock.now() - 1_000);
    assert.equal(stats().sent, 3);
    await second();
    await waitFor('22:00 step', () => [a, b, c].every((d) => lastDim(d)?.level === 40));
    const stepAt = timers.clock.now();
    assert.equal(stats().sent, 6);
    for (const d of [a, b, c]) assert.equal(lastDim(d)?.until, stepAt + LEASE);

    // Lease renewal: a third of the lease before it ends, the same level again with a later `until`.
    timers.advance(LEASE - LEASE / 3 - 1_000);
    assert.equal(stats().sent, 6, 'no refresh before it is due');
    await second();
    await waitFor('refresh', () => [a, b, c].every((d) => dims(d).length === 3));
    const refreshedAt = timers.clock.now();
    assert.ok(refreshedAt < stepAt + LEASE, 'renewed before the previous lease ended');
    for (const d of [a, b, c])
      assert.deepEqual({ level: lastDim(d)?.level, until: lastDim(d)?.until }, { level: 40, until: refreshedAt + LEASE });
    assert.equal(stats().refreshes, 3);
    assert.equal(stats().failed, 0);
  } finally {
    await teardown();
  }
});

test('dimming: a motion event raises its zone at once and the zone returns after the hold; a device back online gets the level in force', async () => {
  const { agent, timers, luminaire, stats, second, clients, teardown } = await setup();
  try {
    const { a, b, c } = await threeLuminaires(luminaire);
    await second();
    await waitFor('first levels', () => [a, b, c].every((d) => lastDim(d)?.level === 80));

    const sensor = connect(`mqtt://127.0.0.1:${agent.localPort}`, { clientId: 'sensor-1', reconnectPeriod: 0 });
    clients.push(sensor);
    await new Promise<void>((r) => sensor.once('connect', () => r()));
    const firedAt = timers.clock.now();
    await sensor.publishAsync(
      topic('localEvent', { device: 'sensor-1' }),
      encode({ device: 'sensor-1', ts: firedAt, type: 'motion', active: true }),
      { qos: 1 },
    );
    // No timer advanced: the event itself produced the commands.
    await waitFor('zone raised', () => lastDim(a)?.level === 100 && lastDim(b)?.level === 100);
    await waitFor('acks', () => stats().inFlight === 0);
    assert.equal(stats().sensorEvents, 1);
    assert.equal(stats().sent, 5, 'only the zone of the sensor');
    assert.equal(lastDim(c)?.level, 80);

    while (lastDim(a)?.level === 100) {
      assert.ok(timers.clock.now() < firedAt + HOLD + 10_000, 'zone returns shortly after the hold');
      await second();
    }
    await waitFor('zone back', () => lastDim(a)?.level === 80 && lastDim(b)?.level === 80);
    assert.ok(timers.clock.now() >= firedAt + HOLD, 'held for the hold time');

    // lum-c drops off (will → offline) and comes back: it gets the level in force without waiting for a change.
    c.client.stream.destroy();
    await waitFor('lum-c offline', () => agent.devices().some((r) => r.id === 'lum-c' && r.status === 'offline'));
    const sentBefore = stats().sent;
    const back = await luminaire('lum-c', 'side');
    await waitFor('lum-c level', () => lastDim(back)?.level === 80);
    assert.equal(stats().sent, sentBefore + 1);
  } finally {
    await teardown();
  }
});

test('dimming: a malformed scheduler config is refused with its path and the previous program stays in force', async () => {
  const north = await startNorthPeer();
  const { agent, timers, luminaire, stats, second, teardown } = await setup({ north, validator: true });
  try {
    await agent.whenNorthConnected();
    const { a } = await threeLuminaires(luminaire);
    await second();
    await waitFor('first level', () => lastDim(a)?.level === 80);

    const bad = structuredClone(SCHEDULER);
    bad.programs[0]!.steps[0]!.level = 150;
    await north.publish(topic('configDesired', { gateway: 'gw-dim' }), { v: 1, version: 2, config: { scheduler: bad } }, true);
    const reportedTopic = topic('configReported', { gateway: 'gw-dim' });
    await waitFor('rejection reported', () => north.on(reportedTopic).some((r) => (r as ReportedConfig).status === 'rejected'));
    const report = north.on(reportedTopic).find((r) => (r as ReportedConfig).status === 'rejected') as ReportedConfig;
    assert.equal(report.error?.path, 'config.scheduler.programs[0].steps[0].level');
    assert.equal(report.version, 1);
    assert.equal(agent.appliedConfig().version, 1);

    // Old program still runs: nothing changes now, the 22:00 step to 40 still comes.
    await second();
    assert.equal(stats().sent, 3);
    timers.advance(T0 + 10 * 60_000 - timers.clock.now() - 1_000);
    await second();
    await waitFor('22:00 step of the old program', () => lastDim(a)?.level === 40);
  } finally {
    await teardown();
    await north.close();
  }
});

/** An agent stand-in: listeners the test fires by hand and commands the test answers by hand. */
function fakeHost(initialScheduler: unknown) {
  const states = new Set<(d: DeviceRecord) => void>();
  const configs = new Set<(c: AppliedConfig) => void>();
  const calls: { id: string; action: CommandAction; answer: (outcome: DeviceAck['outcome']) => void }[] = [];
  const host: DimmingHost = {
    onDeviceState: (l) => {
      states.add(l);
      return () => states.delete(l);
    },
    onDeviceEvent: () => () => true,
    onTelemetry: () => () => true,
    onConfigApplied: (l) => {
      configs.add(l);
      return () => configs.delete(l);
    },
    schedulerConfig: () => initialScheduler,
    devices: () => [],
    commandDevice: (id, action) =>
      new Promise((resolve) => calls.push({ id, action, answer: (outcome) => resolve({ v: 1, id: 'x', outcome, ts: 0 }) })),
  };
  const birth = (id: string, group: string) => {
    const state = deviceState('luminaire', 'online', { group, nominalPowerW: 60 });
    for (const l of states)
      l({ id, kind: 'luminaire', status: 'online', seq: 1, ts: 0, group, nominalPowerW: 60, adapter: 'poste', state });
  };
  const applyConfig = (version: number, scheduler: unknown) => {
    for (const l of configs) l({ version, config: { scheduler } });
  };
  return { host, calls, birth, applyConfig };
}

const settle = () => new Promise((r) => setImmediate(r));

test('dimming: at most maxInFlight commands await acks; failures are counted and retried later', async () => {
  const timers = new ManualTimers(T0);
  const { host, calls, birth } = fakeHost(SCHEDULER);
  const runner = attachDimming(host, { clock: timers.clock, timers, logger: silentLogger, maxInFlight: 2, retryAfterMs: 30_000 });
  try {
    for (let k = 0; k < 5; k++) birth(`l${k}`, 'main');
    runner.tickNow();
    assert.equal(calls.length, 2);
    assert.deepEqual({ inFlight: runner.stats().inFlight, queued: runner.stats().queued }, { inFlight: 2, queued: 3 });
    calls[0]!.answer('done');
    await settle();
    assert.equal(calls.length, 3, 'a freed slot takes the next luminaire');
    calls[1]!.answer('timeout');
    calls[2]!.answer('done');
    await settle();
    calls[3]!.answer('done');
    calls[4]!.answer('done');
    await settle();
    assert.equal(calls.length, 5);
    assert.deepEqual(
      { sent: runner.stats().sent, acked: runner.stats().acked, failed: runner.stats().failed },
      { sent: 5, acked: 4, failed: 1 },
    );
    timers.advance(29_000);
    runner.tickNow();
    assert.equal(calls.length, 5, 'no retry before retryAfterMs');
    timers.advance(1_000);
    runner.tickNow();
    assert.equal(calls.length, 6);
    assert.equal(calls[5]!.id, calls[1]!.id);
    assert.deepEqual(calls[5]!.action, { action: 'dim', level: 80, until: timers.clock.now() + 15 * 60_000 });
  } finally {
    runner.stop();
  }
});

test('dimming: the runner refuses a config it cannot use (no validator wired) and keeps the program; group traits apply', async () => {
  const timers = new ManualTimers(T0);
  const { host, calls, birth, applyConfig } = fakeHost(undefined);
  const runner = attachDimming(host, { clock: timers.clock, timers, logger: silentLogger });
  try {
    birth('l0', 'main');
    runner.tickNow();
    assert.equal(calls.length, 0, 'no scheduler section: devices keep their own program');
    assert.equal(runner.stats().active, false);

    applyConfig(1, {
      ...SCHEDULER,
      lightingClasses: [{ name: 'M3', minLevel: 90 }],
      groups: [{ id: 'main', calendar: 'cal', lightingClass: 'M3', priority: 0 }],
    });
    assert.equal(runner.stats().active, true);
    assert.deepEqual(calls.at(-1)?.action, { action: 'dim', level: 90, until: T0 + 15 * 60_000 }, 'class minimum from the group');
    calls.at(-1)!.answer('done');
    await settle();

    applyConfig(2, { ...SCHEDULER, calendars: [{ id: 'cal', rules: [], defaultProgram: 'nope' }] });
    assert.equal(runner.stats().configErrors, 1);
    timers.advance(1_000);
    runner.tickNow();
    assert.equal(calls.length, 1, 'previous program still in force, nothing changed');
    assert.equal(runner.engine.commandedLevel(runner.engine.indexOf('l0')), 90);
  } finally {
    runner.stop();
  }
});
