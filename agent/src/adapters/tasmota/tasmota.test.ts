import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { LocalTelemetrySchema, type DeviceAck, type LocalTelemetry } from '@poste/protocol';
import { startAgent, type Agent } from '../../core/agent';
import { ManualTimers, silentLogger, startNorthPeer, waitFor, type NorthPeer } from '../../core/test-support';
import { TasmotaAdapterConfigSchema } from './config';
import { FullTopic } from './full-topic';
import { levelCommand, parseTasmotaJson, readingFromSensor, resultConfirms, resultRefusal } from './mapping';

interface Documented {
  name: string;
  topic: string;
  payload: string;
  fullTopic?: string;
}
const fixtures = (
  JSON.parse(readFileSync(new URL('./fixtures/documented-messages.json', import.meta.url), 'utf8')) as { messages: Documented[] }
).messages;
const fixture = (name: string): Documented => {
  const f = fixtures.find((m) => m.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return f;
};
const json = (name: string) => parseTasmotaJson(Buffer.from(fixture(name).payload))!;
const DEFAULT_PREFIXES = { cmnd: 'cmnd', stat: 'stat', tele: 'tele' };

test('FullTopic: the documented default and a custom template parse and build the same topics', () => {
  const def = new FullTopic('%prefix%/%topic%/', DEFAULT_PREFIXES);
  assert.deepEqual(def.parse(fixture('sensor-pow').topic), { prefix: 'tele', topic: 'pow1', name: 'SENSOR' });
  assert.equal(def.build('tele', 'pow1', 'SENSOR'), fixture('sensor-pow').topic);
  assert.equal(def.build('cmnd', 'lamp-12', 'Dimmer'), 'cmnd/lamp-12/Dimmer');
  assert.equal(def.subscription('stat'), 'stat/+/+');
  assert.equal(def.parse('other/pow1/SENSOR'), null, 'a prefix that is none of the three');
  const custom = fixture('fulltopic-custom');
  const ft = new FullTopic(custom.fullTopic!, DEFAULT_PREFIXES);
  assert.deepEqual(ft.parse(custom.topic), { prefix: 'tele', topic: 'lamp-12', name: 'SENSOR' });
  assert.equal(ft.build('tele', 'lamp-12', 'SENSOR'), custom.topic);
  assert.equal(ft.subscription('tele'), 'tasmota/+/tele/+');
  const renamed = new FullTopic('%prefix%/%topic%/', { cmnd: 'c', stat: 's', tele: 't' });
  assert.deepEqual(renamed.parse('t/x/STATE'), { prefix: 'tele', topic: 'x', name: 'STATE' });
  assert.equal(renamed.parse('tele/x/STATE'), null);
});

test('config: FullTopic needs both tokens; topics and device ids are unique; errors name the path', () => {
  const base = { kind: 'tasmota', devices: [{ topic: 'a', device: 'lum-a', group: 'g', nominalPowerW: 60 }] };
  assert.equal(TasmotaAdapterConfigSchema.safeParse(base).success, true);
  const noTopic = TasmotaAdapterConfigSchema.safeParse({ ...base, fullTopic: '%prefix%/lamps/' });
  assert.equal(noTopic.success, false);
  assert.deepEqual(noTopic.error?.issues[0]?.path, ['fullTopic']);
  const dup = TasmotaAdapterConfigSchema.safeParse({ ...base, devices: [...base.devices, { ...base.devices[0], device: 'lum-b' }] });
  assert.deepEqual(dup.error?.issues[0]?.path, ['devices', 1, 'topic']);
  const typo = TasmotaAdapterConfigSchema.safeParse({ ...base, fulltopic: 'x' });
  assert.equal(typo.success, false, 'strict: a misspelt key is refused');
});

test('mapping: documented SENSOR payloads become valid Poste readings in Poste units (kWh → Wh)', () => {
  const view = { device: 'lum-1', power: true, dimmer: 60, operatingHours: 1.5, switchOnCounter: 2 };
  const r = LocalTelemetrySchema.parse(readingFromSensor(json('sensor-pow'), view, 1_700_000_000_000)) as Extract<
    LocalTelemetry,
    { kind: 'luminaire' }
  >;
  assert.equal(r.activePower, 2635);
  assert.equal(r.activeEnergy, 6294, 'Total 6.294 kWh');
  assert.equal(r.voltage, 227);
  assert.equal(r.current, 11.661);
  assert.equal(r.powerFactor, 0.99);
  assert.equal(r.dimLevel, 60);
  assert.equal(r.operatingHours, 1.5);
  const off = LocalTelemetrySchema.parse(readingFromSensor(json('status-pow'), { ...view, power: false }, 1)) as Extract<
    LocalTelemetry,
    { kind: 'luminaire' }
  >;
  assert.equal(off.activeEnergy, 3185);
  assert.equal(off.dimLevel, 0, 'relay off = dim level 0');
  // A SENSOR without ENERGY (a temperature sensor) maps to a reading the agent refuses with the field's path.
  const noEnergy = LocalTelemetrySchema.safeParse(readingFromSensor({ Time: 'x', DS18B20: { Temperature: 20.6 } }, view, 1));
  assert.equal(noEnergy.success, false);
  assert.equal(noEnergy.error?.issues[0]?.path[0], 'activePower');
});

test('mapping: Poste levels → Tasmota commands, confirmed by the documented RESULT replies', () => {
  assert.deepEqual(levelCommand(60), { name: 'Dimmer', payload: '60', expect: { power: true, dimmer: 60 } });
  assert.equal(resultConfirms(json('result-dimmer-60'), levelCommand(60).expect), true);
  assert.equal(resultConfirms(json('result-dimmer-60'), levelCommand(40).expect), false);
  assert.deepEqual(levelCommand(0), { name: 'Power', payload: 'OFF', expect: { power: false } });
  assert.equal(resultConfirms(json('result-power-off'), levelCommand(0).expect), true);
  assert.equal(resultConfirms(json('result-power-on'), levelCommand(0).expect), false);
  assert.equal(resultRefusal({ Command: 'Unknown' }), 'Tasmota answered {"Command":"Unknown"}');
  assert.equal(resultRefusal(json('result-power-on')), null);
});

/** A Tasmota controller as an mqtt.js client: retained LWT Online with an LWT Offline will, as Tasmota connects. */
async function tasmotaDevice(
  port: number,
  topicName: string,
): Promise<{ client: MqttClient; commands: { topic: string; payload: string }[] }> {
  const client = connect(`mqtt://127.0.0.1:${port}`, {
    clientId: `DVES_${topicName}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: { topic: `tele/${topicName}/LWT`, payload: Buffer.from('Offline'), qos: 1, retain: true },
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const commands: { topic: string; payload: string }[] = [];
  await client.subscribeAsync(`cmnd/${topicName}/+`, { qos: 0 });
  client.on('message', (t, p) => commands.push({ topic: t, payload: p.toString('utf8') }));
  await client.publishAsync(`tele/${topicName}/LWT`, 'Online', { qos: 1, retain: true });
  return { client, commands };
}

async function agentWithTasmota(
  timers: ManualTimers,
): Promise<{ agent: Agent; north: NorthPeer; port: number; readings: LocalTelemetry[] }> {
  const north = await startNorthPeer();
  const agent = await startAgent({
    gatewayId: 'gw-tasmota',
    north: { url: north.url },
    configVersion: 2,
    adapters: [
      {
        kind: 'tasmota',
        port: 0,
        devices: [
          { topic: 'lamp-1', device: 'lum-1', group: 'north', nominalPowerW: 60 },
          { topic: 'lamp-2', device: 'lum-2', group: 'north', nominalPowerW: 60, programLevel: 80 },
        ],
      },
    ],
    commandTimeoutMs: 5_000,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
  });
  const readings: LocalTelemetry[] = [];
  agent.onTelemetry((r) => readings.push(r));
  return { agent, north, port: agent.adapterPorts().tasmota!, readings };
}

test('tasmota adapter in an agent: births from LWT, readings from SENSOR, acks from RESULT, refusals, timeouts, leases, LWT Offline mid-command', async () => {
  const timers = new ManualTimers();
  const { agent, north, port, readings } = await agentWithTasmota(timers);
  const devices: MqttClient[] = [];
  try {
    const d1 = await tasmotaDevice(port, 'lamp-1');
    const d2 = await tasmotaDevice(port, 'lamp-2');
    devices.push(d1.client, d2.client);
    await waitFor('both born', () => agent.devices().filter((d) => d.status === 'online').length === 2);
    const lum1 = agent.devices().find((d) => d.id === 'lum-1')!;
    assert.equal(lum1.group, 'north');
    assert.equal(lum1.nominalPowerW, 60);
    assert.equal(lum1.adapter, 'tasmota');

    // STATE then SENSOR (documented payloads): the reading carries the relay/dimmer state.
    await d1.client.publishAsync('tele/lamp-1/STATE', fixture('state-relay-on').payload);
    await d1.client.publishAsync('tele/lamp-1/SENSOR', fixture('sensor-pow').payload);
    await waitFor('reading', () => readings.length === 1);
    const r = readings[0] as Extract<LocalTelemetry, { kind: 'luminaire' }>;
    assert.equal(r.device, 'lum-1');
    assert.equal(r.activeEnergy, 6294);
    assert.equal(r.dimLevel, 100, 'relay on, no Dimmer reported = full');
    assert.equal(r.switchOnCounter, 1);

    // dim → cmnd/lamp-1/Dimmer 60; the documented RESULT acks it done.
    const dimmed = agent.commandDevice('lum-1', { action: 'dim', level: 60 }, { id: 'dim-60' });
    await waitFor('Dimmer command', () => d1.commands.length === 1);
    assert.deepEqual(d1.commands[0], { topic: 'cmnd/lamp-1/Dimmer', payload: '60' });
    await d1.client.publishAsync('stat/lamp-1/RESULT', fixture('result-dimmer-60').payload);
    assert.equal((await dimmed).outcome, 'done');

    // dim 0 → Power OFF, confirmed by {"POWER":"OFF"}.
    const off = agent.commandDevice('lum-1', { action: 'dim', level: 0 }, { id: 'off' });
    await waitFor('Power command', () => d1.commands.length === 2);
    assert.deepEqual(d1.commands[1], { topic: 'cmnd/lamp-1/Power', payload: 'OFF' });
    await d1.client.publishAsync('stat/lamp-1/RESULT', fixture('result-power-off').payload);
    assert.equal((await off).outcome, 'done');

    // A command the controller refuses: {"Command":"Error"} → rejected with Tasmota's answer.
    const refused = agent.commandDevice('lum-1', { action: 'dim', level: 30 }, { id: 'refused' });
    await waitFor('third command', () => d1.commands.length === 3);
    await d1.client.publishAsync('stat/lamp-1/RESULT', '{"Command":"Error"}');
    const refusedAck = await refused;
    assert.equal(refusedAck.outcome, 'rejected');
    assert.match(refusedAck.detail ?? '', /Command.*Error/);

    // A controller that ignores a command: timeout, never done.
    const ignored = agent.commandDevice('lum-1', { action: 'dim', level: 45 }, { id: 'ignored' });
    await waitFor('fourth command', () => d1.commands.length === 4);
    // A RESULT for something else (a local button press) does not confirm it.
    await d1.client.publishAsync('stat/lamp-1/RESULT', fixture('result-power-on').payload);
    await new Promise((r2) => setTimeout(r2, 50));
    timers.advance(5_000);
    const ignoredAck = await ignored;
    assert.equal(ignoredAck.outcome, 'timeout');

    // identify has no Tasmota light equivalent: rejected, nothing sent.
    const identify = await agent.commandDevice('lum-1', { action: 'identify', durationS: 5 }, { id: 'ident' });
    assert.equal(identify.outcome, 'rejected');
    assert.equal(d1.commands.length, 4);

    // A lease: Dimmer 20 until +60 s, then the adapter restores lamp-2's program level (80).
    const leased = agent.commandDevice('lum-2', { action: 'dim', level: 20, until: timers.clock.now() + 60_000 }, { id: 'lease' });
    await waitFor('lease command', () => d2.commands.length === 1);
    await d2.client.publishAsync('stat/lamp-2/RESULT', '{"POWER":"ON","Dimmer":20}');
    assert.equal((await leased).outcome, 'done');
    timers.advance(59_000);
    await new Promise((r2) => setTimeout(r2, 50));
    assert.equal(d2.commands.length, 1, 'the level holds until `until`');
    timers.advance(1_000);
    await waitFor('program restored', () => d2.commands.length === 2);
    assert.deepEqual(d2.commands[1], { topic: 'cmnd/lamp-2/Dimmer', payload: '80' });

    // LWT Offline mid-command: the command fails at once (not done, not a late timeout), the device goes offline.
    const midway = agent.commandDevice('lum-2', { action: 'dim', level: 50 }, { id: 'midway' });
    await waitFor('midway command', () => d2.commands.length === 3);
    d2.client.stream.destroy(); // power cut: the broker publishes the will, LWT Offline
    const midwayAck: DeviceAck = await midway;
    assert.equal(midwayAck.outcome, 'failed');
    assert.match(midwayAck.detail ?? '', /LWT Offline/);
    await waitFor('lum-2 offline', () => agent.devices().find((d) => d.id === 'lum-2')?.status === 'offline');
    // Back: a new birth.
    const d2b = await tasmotaDevice(port, 'lamp-2');
    devices.push(d2b.client);
    await waitFor('lum-2 back', () => agent.devices().find((d) => d.id === 'lum-2')?.status === 'online');
  } finally {
    for (const c of devices) await c.endAsync(true);
    await agent.stop();
    await north.close();
  }
});

test('tasmota adapter: malformed JSON is refused and counted under the adapter, the controller carries on; a kWh Total reset passes through as a drop', async () => {
  const timers = new ManualTimers();
  const { agent, north, port, readings } = await agentWithTasmota(timers);
  const d1 = await tasmotaDevice(port, 'lamp-1');
  try {
    await waitFor('born', () => agent.devices().some((d) => d.id === 'lum-1' && d.status === 'online'));
    await d1.client.publishAsync('tele/lamp-1/SENSOR', '{"Time":"2018-02-15T17:37:10","ENERGY":{"Total":6.294,');
    await d1.client.publishAsync('tele/lamp-1/SENSOR', '{"Time":"2018-02-15T17:37:10","DS18B20":{"Temperature":20.6}}');
    await waitFor('two refusals', () => agent.stats().adapters.tasmota?.rejected === 2);
    assert.equal(agent.stats().adapters.tasmota?.transport.malformed, 1);
    assert.equal(agent.devices().find((d) => d.id === 'lum-1')?.status, 'online', 'the controller is kept');
    // Then a good reading, and a Total reset (EnergyReset3 0, or a power cycle on a meter without storage).
    await d1.client.publishAsync('tele/lamp-1/SENSOR', fixture('sensor-pow').payload);
    await d1.client.publishAsync('tele/lamp-1/SENSOR', fixture('sensor-pow').payload.replace('"Total":6.294', '"Total":0.002'));
    await waitFor('two readings', () => readings.length === 2);
    assert.deepEqual(
      readings.map((r) => (r as Extract<LocalTelemetry, { kind: 'luminaire' }>).activeEnergy),
      [6294, 2],
      'the drop reaches the store as it happened, where it counts as a reset (counterDelta)',
    );
  } finally {
    await d1.client.endAsync(true);
    await agent.stop();
    await north.close();
  }
  // stop() closed the embedded broker's port.
  const refused = await new Promise<boolean>((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
  assert.equal(refused, true, 'no listener left after stop');
});
