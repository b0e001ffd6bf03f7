// The agent's northbound link against a real third-party broker (Debian mosquitto), observed with
// mosquitto_sub / driven with mosquitto_pub, with a plain mqtt.js client as the device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'mqtt';
import { pino } from 'pino';
import { encode, topic, type Ack, type DeviceCommand, type GatewayState } from '@poste/protocol';
import { startAgent } from '@poste/agent';
import { startMosquitto } from './harness/mosquitto';
import { waitFor } from './harness/free-port';

const run = promisify(execFile);
const GW = 'gw-mosq';

/** One message from mosquitto_sub (-C 1): resolves with the topic and parsed payload. */
async function subOne(port: number, filter: string, waitS = 5): Promise<{ topic: string; json: unknown }> {
  const { stdout } = await run('mosquitto_sub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-t',
    filter,
    '-C',
    '1',
    '-W',
    String(waitS),
    '-v',
  ]);
  const line = stdout.trim();
  const space = line.indexOf(' ');
  return { topic: line.slice(0, space), json: JSON.parse(line.slice(space + 1)) };
}

/** Starts mosquitto_sub in the background so it is subscribed before the message is published. */
function subBackground(port: number, filter: string, count: number): { done: Promise<string[]> } {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', filter, '-C', String(count), '-W', '15', '-q', '1']);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const done = new Promise<string[]>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`mosquitto_sub exit ${code}: ${out}`)))),
  );
  return { done };
}

test('agent against mosquitto: birth, telemetry, command relay with ack, last will', async () => {
  const broker = await startMosquitto();
  const agent = await startAgent({
    gatewayId: GW,
    north: { url: broker.url },
    local: { port: 0 },
    telemetry: { batchMaxReadings: 2, batchMaxDelayMs: 60_000 },
    logger: pino({ level: 'silent' }),
  });
  const device = connect(`mqtt://127.0.0.1:${agent.localPort}`, { clientId: 'lum-1', protocolVersion: 4, reconnectPeriod: 0 });
  const deviceConnected = new Promise<void>((resolve) => device.once('connect', () => resolve()));
  let stopped = false;
  try {
    await agent.whenNorthConnected();

    // Retained birth, seen by a subscriber that arrives after it was published.
    const birth = await subOne(broker.port, 'poste/v1/gw/+/state');
    assert.equal(birth.topic, topic('gatewayState', { gateway: GW }));
    assert.equal((birth.json as GatewayState).status, 'online');

    await deviceConnected;
    await device.subscribeAsync(topic('localCommand', { device: 'lum-1' }), { qos: 1 });
    device.on('message', (_t, payload) => {
      const cmd = JSON.parse(payload.toString('utf8')) as DeviceCommand;
      device.publish(topic('localAck', { device: 'lum-1' }), encode({ v: 1, id: cmd.id, outcome: 'done', ts: Date.now() }), { qos: 1 });
    });
    await device.publishAsync(
      topic('localDeviceState', { device: 'lum-1' }),
      encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: Date.now(), group: 'g1' }),
      { qos: 1, retain: true },
    );
    await waitFor('device registered', () => agent.devices().length === 1);

    // Telemetry: two readings fill a batch.
    const batchSub = subBackground(broker.port, topic('luminaireTelemetry', { gateway: GW }), 1);
    await new Promise((r) => setTimeout(r, 300)); // let mosquitto_sub subscribe (not a timing assertion)
    for (let i = 0; i < 2; i++) {
      await device.publishAsync(
        topic('localTelemetry', { device: 'lum-1' }),
        encode({
          kind: 'luminaire',
          device: 'lum-1',
          ts: 1000 + i,
          activePower: 40,
          activeEnergy: 10,
          dimLevel: 50,
          voltage: 230,
          current: 0.2,
          powerFactor: 0.9,
          operatingHours: 1,
          switchOnCounter: 1,
          status: 'ok',
        }),
        { qos: 1 },
      );
    }
    const [batchLine] = await batchSub.done;
    const batch = JSON.parse(batchLine!) as { readings: Array<{ group?: string }> };
    assert.equal(batch.readings.length, 2);
    assert.equal(batch.readings[0]?.group, 'g1');

    // Command from a third party (mosquitto_pub) → device → ack back on the gateway's ack topic.
    const ackSub = subBackground(broker.port, topic('ack', { gateway: GW }), 1);
    await new Promise((r) => setTimeout(r, 300));
    const now = Date.now();
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-q',
      '1',
      '-t',
      topic('command', { gateway: GW }),
      '-m',
      JSON.stringify({ v: 1, id: 'cmd-1', target: { device: 'lum-1' }, issuedAt: now, expiresAt: now + 60_000, action: 'dim', level: 25 }),
    ]);
    const [ackLine] = await ackSub.done;
    const ack = JSON.parse(ackLine!) as Ack;
    assert.equal(ack.id, 'cmd-1');
    assert.equal(ack.outcome, 'done');

    // Abrupt loss of the uplink: mosquitto publishes the retained last will.
    await agent.stop({ abrupt: true });
    stopped = true;
    await waitFor('will retained', async () => {
      const s = await subOne(broker.port, topic('gatewayState', { gateway: GW }));
      return (s.json as GatewayState).status === 'offline';
    });
  } finally {
    device.end(true);
    if (!stopped) await agent.stop();
    await broker.stop();
  }
});
