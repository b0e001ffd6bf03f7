// The Tasmota adapter in `url` mode on a real third-party broker (Debian mosquitto), with
// mosquitto_pub playing a Tasmota controller: its documented LWT, STATE, SENSOR and RESULT
// messages go in as Tasmota would publish them, its commands are read with mosquitto_sub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { topic, type DeviceState, type LocalTelemetry } from '@poste/protocol';
import { startAgent } from '@poste/agent';
import { counterDelta } from '@poste/telemetry-store';
import { startMosquitto } from './harness/mosquitto';
import { waitFor } from './harness/free-port';

const run = promisify(execFile);
const GW = 'gw-tasmota-mosq';
const documented = JSON.parse(
  readFileSync(new URL('../agent/src/adapters/tasmota/fixtures/documented-messages.json', import.meta.url), 'utf8'),
) as { messages: { name: string; payload: string }[] };
const payloadOf = (name: string): string => documented.messages.find((m) => m.name === name)!.payload;

/** mosquitto_pub as the controller (`-r` retained like Tasmota's LWT). */
async function pub(port: number, t: string, message: string, retain = false): Promise<void> {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', t, '-m', message, '-q', '1', ...(retain ? ['-r'] : [])]);
}

/** mosquitto_sub in the background, subscribed before the message is published; resolves with `topic payload` lines. */
function subBackground(port: number, filter: string, count: number): Promise<string[]> {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', filter, '-C', String(count), '-W', '15', '-v']);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`mosquitto_sub exit ${code}: ${out}`)))),
  );
}

test('tasmota adapter (url mode) against mosquitto, mosquitto_pub playing the controller', async () => {
  const broker = await startMosquitto();
  const agent = await startAgent({
    gatewayId: GW,
    north: { url: broker.url },
    configVersion: 2,
    adapters: [
      {
        kind: 'tasmota',
        url: broker.url,
        fullTopic: 'streetlights/%topic%/%prefix%/',
        devices: [{ topic: 'pole-7', device: 'lum-pole-7', group: 'avenue', nominalPowerW: 45 }],
      },
    ],
    commandTimeoutMs: 3_000,
    logger: pino({ level: 'silent' }),
    dimming: { enabled: false },
  });
  const readings: LocalTelemetry[] = [];
  agent.onTelemetry((r) => readings.push(r));
  const base = 'streetlights/pole-7';
  try {
    await agent.whenNorthConnected();
    // Birth: the retained LWT Online, republished northbound as the device's retained state.
    const northState = subBackground(broker.port, topic('deviceState', { gateway: GW, device: 'lum-pole-7' }), 1);
    await pub(broker.port, `${base}/tele/LWT`, 'Online', true);
    const [stateLine] = await northState;
    const state = JSON.parse(stateLine!.slice(stateLine!.indexOf(' ') + 1)) as DeviceState;
    assert.equal(state.status, 'online');
    assert.equal(state.group, 'avenue');

    await pub(broker.port, `${base}/tele/STATE`, payloadOf('state-relay-on'));
    await pub(broker.port, `${base}/tele/SENSOR`, payloadOf('sensor-pow'));
    await pub(broker.port, `${base}/tele/SENSOR`, payloadOf('sensor-pow').replace('"Total":6.294', '"Total":0.010'));
    await waitFor('two readings', () => readings.length === 2);
    const energy = readings.map((r) => (r as Extract<LocalTelemetry, { kind: 'luminaire' }>).activeEnergy);
    assert.deepEqual(energy, [6294, 10]);
    assert.equal(counterDelta(energy[0]!, energy[1]!), 10, 'the store counts a Total reset from zero, never negative');

    // A command: read off the broker with mosquitto_sub, answered with the documented RESULT.
    const cmdSeen = subBackground(broker.port, `${base}/cmnd/+`, 1);
    await new Promise((r) => setTimeout(r, 1_000)); // mosquitto_sub subscribed (no signal for it; generous under load)
    const acked = agent.commandDevice('lum-pole-7', { action: 'dim', level: 60 });
    assert.deepEqual(await cmdSeen, [`${base}/cmnd/Dimmer 60`]);
    await pub(broker.port, `${base}/stat/RESULT`, payloadOf('result-dimmer-60'));
    assert.equal((await acked).outcome, 'done');

    // The controller ignores the next one: timeout after commandTimeoutMs, not done.
    const ignored = await agent.commandDevice('lum-pole-7', { action: 'dim', level: 35 });
    assert.equal(ignored.outcome, 'timeout');

    // LWT Offline (the broker's will for a dead controller) marks it offline.
    await pub(broker.port, `${base}/tele/LWT`, 'Offline', true);
    await waitFor('offline', () => agent.devices().find((d) => d.id === 'lum-pole-7')?.status === 'offline');
    assert.equal(agent.stats().adapters.tasmota?.transport.mode, 'url');
  } finally {
    await agent.stop();
    await broker.stop();
  }
});
