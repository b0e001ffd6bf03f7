import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { topic } from '@poste/protocol';
import { createDashboardApi } from './app';
import { connectFleetTracker, type ConnectedFleetTracker } from './fleet';
import { testInventory } from './test-support/fixtures';
import { MemoryStore } from '@poste/telemetry-store';
import { startMosquitto, type RunningMosquitto as Mosquitto } from '../../test/harness/mosquitto';

/** The fleet tracker subscribed to a real third-party broker (mosquitto), gateway will included. */
describe('connectFleetTracker against mosquitto', () => {
  let broker: Mosquitto;
  const clients: mqtt.MqttClient[] = [];
  before(async () => {
    broker = await startMosquitto();
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await broker.stop();
  });

  async function gatewayClient(gw: string): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(broker.url, {
      clientId: `gw-${gw}`,
      reconnectPeriod: 0,
      will: {
        topic: topic('gatewayState', { gateway: gw }),
        payload: Buffer.from(JSON.stringify({ v: 1, status: 'offline', seq: 1, ts: 2 })),
        qos: 1,
        retain: true,
      },
    });
    clients.push(c);
    return c;
  }

  /** Polls the tracker until `check` holds (messages arrive asynchronously); bounded by attempts. */
  async function until(f: ConnectedFleetTracker, check: (s: ReturnType<ConnectedFleetTracker['snapshot']>) => boolean) {
    for (let i = 0; i < 200 && !check(f.snapshot()); i++) await new Promise((r) => setTimeout(r, 25));
    return f.snapshot();
  }

  it('sees retained births, then the will of a gateway that dies marks its devices unreachable', async () => {
    const gw = await gatewayClient('gw1');
    await gw.publishAsync(topic('gatewayState', { gateway: 'gw1' }), JSON.stringify({ v: 1, status: 'online', seq: 1, ts: 1 }), {
      qos: 1,
      retain: true,
    });
    await gw.publishAsync(
      topic('deviceState', { gateway: 'gw1', device: 'l1' }),
      JSON.stringify({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: 1 }),
      { qos: 1, retain: true },
    );
    await gw.publishAsync(
      topic('deviceState', { gateway: 'gw1', device: 'ap1' }),
      JSON.stringify({ v: 1, kind: 'ap', status: 'online', seq: 1, ts: 1 }),
      { qos: 1, retain: true },
    );
    await gw.publishAsync(topic('deviceState', { gateway: 'gw1', device: 'bad' }), '{"v":1,"kind":"toaster"}', { qos: 1, retain: true });

    // Subscribing after the fact: everything arrives as retained messages.
    const fleet = await connectFleetTracker({ url: broker.url });
    try {
      assert.equal(fleet.linkConnected(), true);
      let s = await until(fleet, (x) => x.luminaires.online === 1 && x.aps.online === 1);
      assert.deepEqual(s, { gateways: { online: 1, offline: 0 }, luminaires: { online: 1, offline: 0 }, aps: { online: 1, offline: 0 } });
      assert.equal(fleet.stats().invalid, 1);

      gw.stream.destroy(); // ungraceful: the broker publishes the last will
      s = await until(fleet, (x) => x.gateways.offline === 1);
      assert.deepEqual(s, { gateways: { online: 0, offline: 1 }, luminaires: { online: 0, offline: 1 }, aps: { online: 0, offline: 1 } });
    } finally {
      await fleet.close();
    }
  });

  it('/healthz reports the fleet link: connected, then disconnected (503) once the link is gone', async () => {
    const fleet = await connectFleetTracker({ url: broker.url });
    const api = await createDashboardApi({
      store: new MemoryStore(),
      fleet,
      inventory: testInventory(),
      logger: false,
      defaultMetrics: false,
    });
    try {
      const up = await api.app.inject({ url: '/healthz' });
      assert.equal(up.statusCode, 200);
      assert.equal((up.json() as { fleetLink: string }).fleetLink, 'connected');
      await fleet.close();
      const down = await api.app.inject({ url: '/healthz' });
      assert.equal(down.statusCode, 503);
      assert.equal((down.json() as { fleetLink: string }).fleetLink, 'disconnected');
    } finally {
      await api.close();
      await fleet.close();
    }
  });

  it('rejects with a clear error when no broker answers', async () => {
    await assert.rejects(
      connectFleetTracker({ url: 'mqtt://127.0.0.1:1', connectTimeoutMs: 500 }),
      /fleet: cannot subscribe at mqtt:\/\/127\.0\.0\.1:1/,
    );
  });
});
