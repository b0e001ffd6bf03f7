import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  DeviceAckSchema,
  DeviceEventSchema,
  DeviceStateSchema,
  LocalTelemetrySchema,
  encode,
  parseTopic,
  topic,
  topicFilter,
  type DeviceAck,
  type DeviceEvent,
  type DeviceState,
  type LocalTelemetry,
} from '@poste/protocol';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { DeviceFleet } from './device-fleet';
import type { FleetSnapshot } from './snapshot';
import { generateCity } from './scenario';
import { SimClock } from './sim-clock';

/** Everything devices publish on the local endpoint, as seen by an agent-like observer. */
class Observer {
  states: { device: string; state: DeviceState }[] = [];
  telemetry: LocalTelemetry[] = [];
  events: DeviceEvent[] = [];
  acks: DeviceAck[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (t, payload) => {
      const parsed = parseTopic(t);
      if (!parsed) return;
      const json: unknown = JSON.parse(payload.toString());
      if (parsed.kind === 'localDeviceState') this.states.push({ device: parsed.params.device, state: DeviceStateSchema.parse(json) });
      if (parsed.kind === 'localTelemetry') this.telemetry.push(LocalTelemetrySchema.parse(json));
      if (parsed.kind === 'localEvent') this.events.push(DeviceEventSchema.parse(json));
      if (parsed.kind === 'localAck') this.acks.push(DeviceAckSchema.parse(json));
      for (const w of this.waiters.splice(0)) w();
    });
  }
  /** Resolves once `cond` holds (re-checked on every message). */
  async until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  offline(device: string): boolean {
    return this.states.some((s) => s.device === device && s.state.status === 'offline');
  }
}

describe('DeviceFleet over MQTT', () => {
  let broker: Aedes;
  let server: Server;
  let url: string;
  let observer: Observer;

  before(async () => {
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = await mqtt.connectAsync(url, { clientId: 'observer' });
    observer = new Observer(client);
    await client.subscribeAsync(['poste/v1/dev/+/state', 'poste/v1/dev/+/telemetry', 'poste/v1/dev/+/event', 'poste/v1/dev/+/ack'], {
      qos: 1,
    });
  });

  after(async () => {
    await observer.client.endAsync();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    server.close();
  });

  const city = generateCity({
    seed: 7,
    start: '2024-06-01T22:00:00Z', // 19:00 local: lights on at 100%
    municipalities: [
      {
        id: 'campinas',
        name: 'Campinas',
        timeZone: 'America/Sao_Paulo',
        lat: -22.9,
        lon: -47.06,
        gateways: [{ id: 'cps-gw1', luminaires: 4, aps: 1 }],
      },
    ],
  });

  it('births, telemetry, acked dim, supply-loss will, and wills on kill()', async () => {
    const clock = SimClock.manual(city.startMs);
    const errors: Error[] = [];
    const fleet = new DeviceFleet({ devices: city.devices, url, clock, onError: (e) => errors.push(e) });
    await fleet.start();
    await observer.until(() => city.devices.every((d) => observer.states.some((s) => s.device === d.id && s.state.status === 'online')));
    const lumBirth = observer.states.find((s) => s.device === 'cps-gw1-lum-0001')?.state;
    assert.equal(lumBirth?.kind, 'luminaire');
    assert.equal(lumBirth?.seq, 1);
    assert.ok(lumBirth?.nominalPowerW);

    clock.advance(2 * 60_000);
    fleet.tick();
    await observer.until(() => observer.telemetry.length >= city.devices.length * 2);
    const lum = observer.telemetry.find((t) => t.kind === 'luminaire');
    assert.ok(lum && lum.kind === 'luminaire');
    assert.equal(lum.dimLevel, 100);
    assert.ok(lum.ts > city.startMs && lum.ts <= clock.now()); // stamped with sim time
    assert.ok(observer.telemetry.some((t) => t.kind === 'ap'));

    const id = 'cps-gw1-lum-0002';
    const now = clock.now();
    observer.client.publish(
      topic('localCommand', { device: id }),
      encode({ v: 1, id: 'cmd-1', expiresAt: now + 60_000, action: 'dim', level: 30 }),
      { qos: 1 },
    );
    observer.client.publish(
      topic('localCommand', { device: id }),
      encode({ v: 1, id: 'cmd-2', expiresAt: now - 1, action: 'dim', level: 30 }),
      { qos: 1 },
    );
    await observer.until(() => observer.acks.length >= 2);
    assert.equal(observer.acks.find((a) => a.id === 'cmd-1')?.outcome, 'done');
    assert.equal(observer.acks.find((a) => a.id === 'cmd-2')?.outcome, 'expired');
    clock.advance(2 * 60_000);
    fleet.tick();
    await observer.until(() => observer.telemetry.some((t) => t.device === id && t.kind === 'luminaire' && t.dimLevel === 30));

    fleet.injectFault('cps-gw1-lum-0003', 'lampFailure');
    await observer.until(() => observer.events.some((e) => e.device === 'cps-gw1-lum-0003' && e.type === 'lampFailure'));

    fleet.injectFault('cps-gw1-lum-0004', 'supplyLoss');
    await observer.until(() => observer.offline('cps-gw1-lum-0004'));
    assert.equal(fleet.isConnected('cps-gw1-lum-0004'), false);

    fleet.kill();
    await observer.until(() => city.devices.every((d) => observer.offline(d.id)));
    const will = observer.states.filter((s) => s.device === 'cps-gw1-lum-0001').at(-1)?.state;
    assert.equal(will?.status, 'offline');
    assert.equal(will?.seq, 1); // pairs with the birth of the same session

    const gt = fleet.groundTruth();
    assert.equal(gt.devices.length, 4);
    assert.ok(gt.total.measuredWh > 0);
    assert.deepEqual(errors, []);
  });

  it('runUntil() with an accelerated clock: every reading arrives and measures the ground truth', async () => {
    const clock = SimClock.accelerated(city.startMs, 36_000);
    const devices = city.devices.filter((d) => d.kind === 'luminaire');
    const fleet = new DeviceFleet({ devices, url, clock, maxPendingPublishes: 50 });
    const seen = new Map<string, number[]>();
    const listener = (t: string, payload: Buffer): void => {
      const parsed = parseTopic(t);
      if (parsed?.kind !== 'localTelemetry') return;
      const r = LocalTelemetrySchema.parse(JSON.parse(payload.toString()));
      if (r.kind === 'luminaire') seen.set(r.device, [...(seen.get(r.device) ?? []), r.activeEnergy]);
    };
    observer.client.on('message', listener);
    await fleet.start();
    fleet.injectFault('cps-gw1-lum-0001', 'dayBurner');
    await fleet.runUntil(city.startMs + 3 * 3_600_000);
    assert.ok(fleet.engine.nowMs <= city.startMs + 3 * 3_600_000);
    assert.equal(fleet.pendingPublishes, 0);
    await fleet.stop();
    await observer.until(() => [...seen.values()].reduce((n, v) => n + v.length, 0) >= fleet.counters.telemetry);
    observer.client.off('message', listener);
    // What a store computes from the delivered readings (positive deltas, resets from zero).
    let measured = 0;
    for (const series of seen.values()) {
      for (let i = 1; i < series.length; i++) {
        const prev = series[i - 1] ?? 0;
        const cur = series[i] ?? 0;
        measured += cur >= prev ? cur - prev : cur;
      }
    }
    const gt = fleet.groundTruth();
    assert.equal(
      gt.devices.reduce((n, d) => n + d.reports, 0),
      fleet.counters.telemetry,
    );
    assert.ok(Math.abs(measured - gt.total.exactWhBetweenReports) / gt.total.exactWhBetweenReports < 1e-9);
  });

  it('stop() publishes a graceful offline state', async () => {
    const clock = SimClock.manual(city.startMs);
    const devices = city.devices.filter((d) => d.id === 'cps-gw1-lum-0001');
    const before = observer.states.length;
    const fleet = new DeviceFleet({ devices, url, clock });
    await fleet.start();
    await fleet.stop();
    // A retained offline from the previous test's fleet (same device) may still arrive late: only
    // what follows this fleet's own birth counts.
    const sinceBirth = () => {
      const statuses = observer.states.slice(before).map((s) => s.state.status);
      const birth = statuses.indexOf('online');
      return birth < 0 ? [] : statuses.slice(birth);
    };
    await observer.until(() => sinceBirth().includes('offline'));
    assert.deepEqual(sinceBirth(), ['online', 'offline']);
    assert.equal(topicFilter('localDeviceState'), 'poste/v1/dev/+/state');
  });

  it('checkpoints before it publishes, and a fleet resumed from the last checkpoint after kill() never contradicts what was published', async () => {
    const devices = city.devices;
    const clock = SimClock.accelerated(city.startMs, 20_000);
    let durableMs = Number.NEGATIVE_INFINITY;
    let last: FleetSnapshot | undefined;
    const checkpoint = async (snap: FleetSnapshot): Promise<void> => {
      await new Promise((r) => setTimeout(r, 5)); // a disk write takes time
      last = JSON.parse(JSON.stringify(snap)) as FleetSnapshot;
      durableMs = snap.engine.nowMs;
    };
    const received: { device: string; ts: number; energy: number | undefined; durableMs: number }[] = [];
    const listener = (t: string, payload: Buffer): void => {
      if (parseTopic(t)?.kind !== 'localTelemetry') return;
      const r = LocalTelemetrySchema.parse(JSON.parse(payload.toString()));
      received.push({ device: r.device, ts: r.ts, energy: r.kind === 'luminaire' ? r.activeEnergy : undefined, durableMs });
    };
    observer.client.on('message', listener);
    const first = new DeviceFleet({ devices, url, clock, checkpoint, checkpointIntervalMs: 20 });
    await first.start();
    await new Promise((r) => setTimeout(r, 400));
    first.kill();
    assert.ok(last, 'at least one checkpoint');
    for (const r of received) assert.ok(r.ts <= r.durableMs, `${r.device}@${r.ts} published before a checkpoint covered it`);

    const resumeClock = SimClock.accelerated(last.engine.nowMs, 20_000);
    const second = new DeviceFleet({ devices, url, clock: resumeClock, checkpoint, checkpointIntervalMs: 20, resume: last });
    assert.equal(second.engine.nowMs, last.engine.nowMs);
    await second.start();
    await second.runUntil(last.engine.nowMs + 3_600_000);
    await second.stop();
    observer.client.off('message', listener);
    const byDevice = new Map<string, Map<number, number | undefined>>();
    for (const r of received) {
      const series = byDevice.get(r.device) ?? new Map<number, number | undefined>();
      const seen = series.get(r.ts);
      if (series.has(r.ts)) assert.equal(r.energy, seen, `${r.device}@${r.ts} published twice with different values`);
      series.set(r.ts, r.energy);
      byDevice.set(r.device, series);
    }
    for (const [device, series] of byDevice) {
      const energies = [...series.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e ?? 0);
      for (let i = 1; i < energies.length; i++) assert.ok(energies[i]! >= energies[i - 1]!, `${device}: counter went backwards`);
    }
    assert.ok(received.length > devices.length * 60, `${received.length} readings`);
  });
});
