import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { MqttClient } from 'mqtt';
import { topic, type DeviceEvent, type LocalTelemetry, type ReportedConfig } from '@poste/protocol';
import { dimmingExtension } from '../extensions/dimming';
import type { AgentExtension, AgentHost } from '../extensions/types';
import { startAgent } from './agent';
import type { AppliedConfig } from './desired-config';
import type { DeviceRecord } from './device-registry';
import { ExtensionSet } from './extension-set';
import { Listeners } from './listeners';
import { ManualTimers, connectDevice, deviceState, silentLogger, startNorthPeer, waitFor } from './test-support';

/** A small real extension: counts births, identifies every new luminaire once, accepts only UTC schedules. */
function censusExtension() {
  const seen: { host: AgentHost | null; stopped: boolean } = { host: null, stopped: false };
  const ext: AgentExtension = {
    name: 'census',
    validateSchedulerConfig: (raw) =>
      (raw as { site?: { timeZone?: unknown } }).site?.timeZone === 'UTC'
        ? null
        : { path: 'site.timeZone', reason: 'census reports in UTC only' },
    start(host) {
      seen.host = host;
      const counts = { births: 0, identified: 0, failed: 0 };
      host.onDeviceState((d) => {
        if (d.status !== 'online') return;
        counts.births++;
        if (d.kind !== 'luminaire') return;
        void host.commandDevice(d.id, { action: 'identify', durationS: 2 }).then((ack) => {
          if (ack.outcome === 'done') counts.identified++;
          else counts.failed++;
        });
      });
      return {
        stats: () => ({ ...counts, devicesKnown: host.devices().length }),
        stop: () => {
          seen.stopped = true;
        },
      };
    },
  };
  return { ext, seen };
}

test('extensions: an extension gets the host, commands devices through it, validates config and shows in stats beside dimming', async () => {
  const north = await startNorthPeer();
  const timers = new ManualTimers();
  const census = censusExtension();
  const agent = await startAgent({
    gatewayId: 'gw-ext',
    north: { url: north.url },
    adapters: [{ kind: 'poste', port: 0 }],
    clock: timers.clock,
    timers,
    logger: silentLogger,
    extensions: [census.ext],
  });
  const clients: MqttClient[] = [];
  try {
    await agent.whenNorthConnected();
    const host = census.seen.host;
    assert.ok(host, 'started with a host');
    assert.equal(host.gatewayId, 'gw-ext');
    assert.equal(host.clock.now(), timers.clock.now());
    assert.equal(host.timers, timers);

    const lum = await connectDevice(agent.localPort, 'lum-1', deviceState('luminaire', 'online', { group: 'g' }));
    clients.push(lum.client);
    await waitFor('identified', () => (agent.stats().extensions.census as { identified?: number }).identified === 1);
    assert.deepEqual(
      lum.commands.map((c) => (c as { action: string }).action),
      ['identify'],
    );
    assert.deepEqual(agent.stats().extensions.census, { births: 1, identified: 1, failed: 0, devicesKnown: 1 });
    assert.equal(agent.stats().extensions.dimming?.active, false, 'the built-in dimming extension runs too (no program yet)');

    // Every extension's validator sees the scheduler section: dimming accepts this one, census refuses it,
    // and the cloud hears census's path.
    const scheduler = {
      site: { timeZone: 'America/Sao_Paulo', latitude: -22.9, longitude: -47.06 },
      programs: [{ id: 'night', steps: [{ kind: 'fixed', time: '18:00', level: 100 }] }],
      calendars: [{ id: 'c', rules: [], defaultProgram: 'night' }],
    };
    await north.publish(topic('configDesired', { gateway: 'gw-ext' }), { v: 1, version: 1, config: { scheduler } }, true);
    const reported = topic('configReported', { gateway: 'gw-ext' });
    await waitFor('rejected', () => north.on(reported).length === 1);
    const r = north.on(reported)[0] as ReportedConfig;
    assert.equal(r.status, 'rejected');
    assert.equal(r.error?.path, 'config.scheduler.site.timeZone');
    await north.publish(
      topic('configDesired', { gateway: 'gw-ext' }),
      { v: 1, version: 2, config: { scheduler: { ...scheduler, site: { ...scheduler.site, timeZone: 'UTC' } } } },
      true,
    );
    await waitFor('applied', () => north.on(reported).length === 2);
    assert.equal((north.on(reported)[1] as ReportedConfig).status, 'applied');
    assert.equal(agent.stats().extensions.dimming?.active, true, 'dimming took the program');
  } finally {
    for (const c of clients) c.end(true);
    await agent.stop();
    await north.close();
  }
  assert.equal(census.seen.stopped, true, 'stopped with the agent');
});

test('extensions: listeners an extension added are removed when it stops, even if it forgets', async () => {
  const listeners = {
    deviceState: new Listeners<DeviceRecord>('deviceState', silentLogger),
    telemetry: new Listeners<LocalTelemetry>('telemetry', silentLogger),
    deviceEvent: new Listeners<DeviceEvent>('deviceEvent', silentLogger),
    config: new Listeners<AppliedConfig>('config', silentLogger),
  };
  let heard = 0;
  const forgetful: AgentExtension = {
    name: 'forgetful',
    start(host) {
      host.onDeviceEvent(() => heard++);
      host.onConfigApplied(() => heard++);
      return { stats: () => ({ heard }), stop: () => undefined };
    },
  };
  const timers = new ManualTimers();
  const set = await ExtensionSet.start([forgetful], {
    gatewayId: 'gw',
    clock: timers.clock,
    timers,
    log: silentLogger,
    listeners,
    devices: () => [],
    commandDevice: async (id) => ({ v: 1, id, outcome: 'done', ts: 0 }),
    appliedConfig: () => ({ version: 0, config: {} }),
    schedulerConfig: () => undefined,
  });
  listeners.deviceEvent.emit({ device: 'd', ts: 1, type: 'motion', active: true });
  assert.deepEqual(set.stats(), { forgetful: { heard: 1 } });
  await set.stop();
  listeners.deviceEvent.emit({ device: 'd', ts: 2, type: 'motion', active: true });
  listeners.config.emit({ version: 1, config: {} });
  assert.equal(heard, 1);
});

test('extensions: duplicate names and a foreign "dimming" are refused before anything starts; a failing start releases the LAN port', async () => {
  const base = {
    gatewayId: 'gw-ext',
    north: { url: 'mqtt://127.0.0.1:1' },
    adapters: [{ kind: 'poste' as const, port: 0 }],
    logger: silentLogger,
  };
  const noop = (name: string): AgentExtension => ({ name, start: () => ({ stats: () => ({}), stop: () => undefined }) });
  await assert.rejects(startAgent({ ...base, extensions: [noop('a'), noop('a')] }), /extensions\[1\]: name a is already used/);
  await assert.rejects(startAgent({ ...base, extensions: [noop('dimming')] }), /name dimming is reserved/);
  await assert.rejects(
    startAgent({ ...base, extensions: [{ name: 'x' } as unknown as AgentExtension] }),
    /invalid agent options: extensions\[0\]: an extension/,
  );

  // An explicit dimmingExtension replaces the one `dimming.enabled` would add (no duplicate); the
  // bandwidth extension is added after it by `bandwidth.enabled` (default true).
  const explicit = await startAgent({ ...base, extensions: [dimmingExtension({ leaseMs: 60_000 })] });
  assert.deepEqual(Object.keys(explicit.stats().extensions), ['dimming', 'bandwidth']);
  await explicit.stop({ abrupt: true });

  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const addr = probe.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : 0;
  await new Promise<void>((r) => probe.close(() => r()));
  const boom: AgentExtension = {
    name: 'boom',
    start: () => {
      throw new Error('no hardware');
    },
  };
  await assert.rejects(
    startAgent({ ...base, adapters: [{ kind: 'poste', port }], extensions: [boom] }),
    /extension boom failed to start: no hardware/,
  );
  const again = createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((r) => again.close(() => r()));
});
