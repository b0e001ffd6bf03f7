import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DeviceAckSchema, DeviceStateSchema, LocalTelemetrySchema, encode, parseTopic, topic, type DeviceState } from '@poste/protocol';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { DeviceFleet } from './device-fleet';
import { generateCity } from './scenario';
import { SimClock } from './sim-clock';

/** Devices that share MQTT sessions (devicesPerSession > 1), as an agent-like observer sees them. */
describe('DeviceFleet with shared sessions (RF-mesh concentrators)', () => {
  let broker: Aedes;
  let server: Server;
  let url: string;
  let observer: MqttClient;
  const clientIds = new Set<string>();
  const states: { device: string; state: DeviceState }[] = [];
  const readings: { device: string; ts: number }[] = [];
  const acks: string[] = [];

  before(async () => {
    broker = await Aedes.createBroker();
    broker.on('client', (c) => clientIds.add(c.id));
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    observer = await mqtt.connectAsync(url, { clientId: 'observer' });
    observer.on('message', (t, payload) => {
      const parsed = parseTopic(t);
      if (!parsed || !('device' in parsed.params)) return;
      const json: unknown = JSON.parse(payload.toString());
      if (parsed.kind === 'localDeviceState') states.push({ device: parsed.params.device, state: DeviceStateSchema.parse(json) });
      if (parsed.kind === 'localTelemetry') {
        const r = LocalTelemetrySchema.parse(json);
        readings.push({ device: r.device, ts: r.ts });
      }
      if (parsed.kind === 'localAck') acks.push(DeviceAckSchema.parse(json).id);
    });
    await observer.subscribeAsync(['poste/v1/dev/+/state', 'poste/v1/dev/+/telemetry', 'poste/v1/dev/+/ack'], { qos: 1 });
  });

  after(async () => {
    await observer.endAsync();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    server.close();
  });

  const city = generateCity({
    seed: 11,
    start: '2024-06-01T22:00:00Z',
    municipalities: [
      {
        id: 'campinas',
        name: 'Campinas',
        timeZone: 'America/Sao_Paulo',
        lat: -22.9,
        lon: -47.06,
        gateways: [{ id: 'cps-mesh', luminaires: 7, aps: 1 }],
      },
    ],
  });

  const until = async (what: string, cond: () => boolean): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const lastStatus = (device: string): string | undefined => states.filter((s) => s.device === device).at(-1)?.state.status;

  it('8 devices on 3 connections: births, every reading once, a command acked, a node without supply reported offline, goodbyes on stop', async () => {
    const clock = SimClock.accelerated(city.startMs, 36_000);
    const errors: Error[] = [];
    const fleet = new DeviceFleet({ devices: city.devices, url, clock, devicesPerSession: 3, onError: (e) => errors.push(e) });
    await fleet.start();
    assert.deepEqual(
      [...clientIds].filter((id) => id !== 'observer').sort(),
      ['cps-mesh-mesh-1', 'cps-mesh-mesh-2', 'cps-mesh-mesh-3'],
      'one connection per 3 devices, named after the gateway',
    );
    await until('every birth', () => city.devices.every((d) => lastStatus(d.id) === 'online'));
    for (const d of city.devices) assert.equal(fleet.isConnected(d.id), true);

    const target = 'cps-mesh-lum-0005';
    observer.publish(
      topic('localCommand', { device: target }),
      encode({ v: 1, id: 'mesh-cmd-1', expiresAt: clock.now() + 3_600_000, action: 'dim', level: 40 }),
      { qos: 1 },
    );
    await until('the ack of the command', () => acks.includes('mesh-cmd-1'));

    const unpowered = 'cps-mesh-lum-0002';
    fleet.injectFault(unpowered, 'supplyLoss');
    await until('the unpowered node reported offline', () => lastStatus(unpowered) === 'offline');
    assert.equal(fleet.isConnected(unpowered), false);
    assert.equal(fleet.isConnected('cps-mesh-lum-0001'), true, 'its session neighbours stay connected');

    await fleet.runUntil(city.startMs + 2 * 3_600_000);
    await fleet.stop();
    await until('every reading', () => readings.length >= fleet.counters.telemetry);
    const keys = readings.map((r) => `${r.device}@${r.ts}`);
    assert.equal(new Set(keys).size, keys.length, 'no reading twice');
    assert.equal(readings.length, fleet.counters.telemetry);
    assert.ok(readings.filter((r) => r.device === unpowered).length < readings.filter((r) => r.device === 'cps-mesh-lum-0001').length);
    await until('goodbyes', () => city.devices.every((d) => lastStatus(d.id) === 'offline'));
    assert.equal(broker.connectedClients, 1, 'only the observer is left');
    assert.deepEqual(errors, []);
  });

  it('kill() drops the shared connections at once; held readings wait for the next session', async () => {
    const clock = SimClock.manual(city.startMs);
    const fleet = new DeviceFleet({ devices: city.devices, url, clock, devicesPerSession: 4 });
    await fleet.start();
    assert.equal(broker.connectedClients, 3);
    fleet.kill();
    await until('the sessions to close', () => broker.connectedClients === 1);
    for (const d of city.devices) assert.equal(fleet.isConnected(d.id), false);
  });
});
