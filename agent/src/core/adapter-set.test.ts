// The sink contract as a second adapter would use it: mapped objects and raw JSON alike are
// validated by the agent, attributed to the adapter, and acks settle commands by device + id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceCommand, DeviceEvent, LocalTelemetry } from '@poste/protocol';
import type { AdapterSink, DeviceAdapter } from '../adapters/types';
import { PosteAdapterConfigSchema } from '../adapters/poste';
import { AdapterSet } from './adapter-set';
import { CommandRelay } from './command-relay';
import { DeviceInbox } from './device-inbox';
import { DeviceRegistry, type DeviceRecord } from './device-registry';
import { Listeners } from './listeners';
import { Rejections } from './rejections';
import { ManualTimers, deviceState, silentLogger } from './test-support';

/** An adapter whose "devices" are the test: it exposes its sink and records what it was asked to send. */
function inMemoryAdapter() {
  const sent: Array<{ device: string; cmd: DeviceCommand }> = [];
  let sink: AdapterSink | null = null;
  let failSends = false;
  const adapter: DeviceAdapter = {
    kind: 'poste',
    sendCommand: async (device, cmd) => {
      if (failSends) throw new Error('radio down');
      sent.push({ device, cmd });
    },
    stats: () => ({ link: 'memory' }),
    stop: async () => undefined,
  };
  return {
    sent,
    get sink(): AdapterSink {
      assert.ok(sink, 'adapter created');
      return sink;
    },
    failSends: (v: boolean) => {
      failSends = v;
    },
    create: async (_config: unknown, ctx: { sink: AdapterSink }) => {
      sink = ctx.sink;
      return adapter;
    },
  };
}

async function harness() {
  const timers = new ManualTimers();
  const registry = new DeviceRegistry();
  const rejections = new Rejections(silentLogger);
  const listeners = {
    deviceState: new Listeners<DeviceRecord>('deviceState', silentLogger),
    telemetry: new Listeners<LocalTelemetry>('telemetry', silentLogger),
    deviceEvent: new Listeners<DeviceEvent>('deviceEvent', silentLogger),
  };
  const north = { states: [] as DeviceRecord[], readings: 0, events: 0 };
  const inbox = new DeviceInbox({
    registry,
    rejections,
    clock: timers.clock,
    stateChanged: (r) => north.states.push(r),
    luminaireReading: () => north.readings++,
    apReading: () => north.readings++,
    event: () => north.events++,
    listeners,
  });
  let set: AdapterSet | null = null;
  const relay = new CommandRelay({
    clock: timers.clock,
    timers,
    registry,
    rejections,
    log: silentLogger,
    timeoutMs: () => 1_000,
    sendToDevice: (id, cmd) => set!.send(id, cmd),
    publishAck: () => undefined,
    gatewayAction: async () => ({ outcome: 'done' }),
  });
  const mem = inMemoryAdapter();
  set = await AdapterSet.start([PosteAdapterConfigSchema.parse({ kind: 'poste', host: '127.0.0.1', port: 0, auth: { mode: 'open' } })], {
    inbox,
    registry,
    rejections,
    deviceAck: (id, value, adapter) => (relay.handleDeviceAck(id, value, adapter) ? 'accepted' : 'rejected'),
    log: silentLogger,
    clock: timers.clock,
    timers,
    create: mem.create,
  });
  return { timers, registry, rejections, north, relay, set, mem };
}

const reading = (device: string, extra = {}) => ({
  kind: 'luminaire',
  device,
  ts: 1,
  activePower: 40,
  activeEnergy: 1,
  dimLevel: 50,
  voltage: 230,
  current: 0.2,
  powerFactor: 0.95,
  operatingHours: 10,
  switchOnCounter: 1,
  status: 'ok',
  ...extra,
});

test('adapter sink: mapped objects and raw JSON are validated alike; refusals carry the path and count under the adapter', async () => {
  const { registry, rejections, north, set, mem } = await harness();
  mem.sink.state('lum-1', deviceState('luminaire', 'online', { group: 'g', model: 'T1' }));
  mem.sink.state('lum-2', JSON.stringify(deviceState('luminaire', 'online')));
  mem.sink.state('lum-3', Buffer.alloc(0)); // a cleared retained message: nothing, not an error
  assert.deepEqual(
    registry.snapshot().map((d) => `${d.id}@${d.adapter}`),
    ['lum-1@poste', 'lum-2@poste'],
  );

  mem.sink.telemetry('lum-1', reading('lum-1'));
  mem.sink.telemetry('lum-1', reading('lum-1', { dimLevel: 150 }));
  mem.sink.telemetry('lum-1', reading('lum-2'));
  mem.sink.event('lum-1', { device: 'lum-1', ts: 2, type: 'motion', active: true });
  mem.sink.event('lum-1', '{broken');
  mem.sink.state('bad/id', deviceState('ap', 'online'));
  assert.equal(north.readings, 1);
  assert.equal(north.events, 1);
  const counts = rejections.counts();
  assert.deepEqual(
    { telemetry: counts.deviceTelemetry, event: counts.deviceEvent, state: counts.deviceState },
    { telemetry: 2, event: 1, state: 1 },
  );
  const s = set.stats().poste!;
  assert.equal(s.rejected, 4);
  assert.deepEqual(s.handedIn, { states: 4, wills: 0, telemetry: 3, events: 2, acks: 0 });
  assert.deepEqual(s.transport, { link: 'memory' });
  assert.equal(s.devices, 2);
});

test('adapter sink: will() marks a device offline keeping its birth metadata; a will for an unknown device is refused', async () => {
  const { registry, rejections, north, mem } = await harness();
  mem.sink.state('lum-1', deviceState('luminaire', 'online', { group: 'g', model: 'T1', seq: 7 }));
  mem.sink.will('lum-1');
  const d = registry.get('lum-1');
  assert.equal(d?.status, 'offline');
  assert.equal(d?.group, 'g');
  assert.equal(d?.seq, 7, 'the will belongs to the session its birth opened');
  assert.equal(north.states.at(-1)?.status, 'offline', 'republished north');
  mem.sink.will('lum-1'); // already offline: nothing new to say
  assert.equal(north.states.length, 2);
  mem.sink.will('ghost');
  assert.equal(rejections.counts().deviceState, 1);
});

test('adapter sink: commands go out through the adapter; acks handed in settle them; silence times out; send errors fail', async () => {
  const { timers, relay, set, mem } = await harness();
  mem.sink.state('lum-1', deviceState('luminaire', 'online'));

  const answered = relay.commandDevice('lum-1', { action: 'dim', level: 30 }, { id: 'c1' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(mem.sent[0], {
    device: 'lum-1',
    cmd: { v: 1, id: 'c1', expiresAt: timers.clock.now() + 1_000, action: 'dim', level: 30 },
  });
  mem.sink.ack('lum-1', { v: 1, id: 'c1', outcome: 'done', ts: 5 }); // a mapped object, as a Tasmota adapter would synthesise
  assert.equal((await answered).outcome, 'done');

  const silent = relay.commandDevice('lum-1', { action: 'identify', durationS: 3 }, { id: 'c2' });
  await new Promise((r) => setImmediate(r));
  timers.advance(1_000);
  assert.equal((await silent).outcome, 'timeout');

  mem.failSends(true);
  const failed = await relay.commandDevice('lum-1', { action: 'clearOverride' }, { id: 'c3' });
  assert.equal(failed.outcome, 'failed');
  assert.match(failed.detail ?? '', /send failed: radio down/);
  assert.deepEqual(set.stats().poste!.commands, { sent: 2, sendFailed: 1 });

  await set.stop();
  mem.sink.state('lum-9', deviceState('ap', 'online'));
  assert.equal(set.stats().poste!.handedIn.states, 1, 'nothing is taken in after stop');
});
