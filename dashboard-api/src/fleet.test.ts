import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topic, type DeviceState, type GatewayState } from '@poste/protocol';
import { createFleetTracker } from './fleet';

const gwState = (status: GatewayState['status'], seq = 1): string =>
  JSON.stringify({ v: 1, status, seq, ts: 1_000 } satisfies GatewayState);
const devState = (kind: DeviceState['kind'], status: DeviceState['status'], seq = 1): string =>
  JSON.stringify({ v: 1, kind, status, seq, ts: 1_000 } satisfies DeviceState);

describe('FleetTracker', () => {
  it('counts gateways, luminaires and APs from retained state', () => {
    const f = createFleetTracker();
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online'));
    f.ingest(topic('gatewayState', { gateway: 'gw2' }), gwState('offline'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l1' }), devState('luminaire', 'online'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l2' }), devState('luminaire', 'offline'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'ap1' }), devState('ap', 'online'));
    assert.deepEqual(f.snapshot(), {
      gateways: { online: 1, offline: 1 },
      luminaires: { online: 1, offline: 1 },
      aps: { online: 1, offline: 0 },
    });
  });

  it("a gateway's last will makes its devices unreachable, and its rebirth brings them back", () => {
    const f = createFleetTracker();
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online', 3));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l1' }), devState('luminaire', 'online'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'ap1' }), devState('ap', 'online'));
    assert.deepEqual(f.snapshot().luminaires, { online: 1, offline: 0 });

    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('offline', 3)); // the will
    assert.deepEqual(f.snapshot(), {
      gateways: { online: 0, offline: 1 },
      luminaires: { online: 0, offline: 1 },
      aps: { online: 0, offline: 1 },
    });

    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online', 4)); // rebirth
    assert.deepEqual(f.snapshot().luminaires, { online: 1, offline: 0 });
    assert.deepEqual(f.snapshot().aps, { online: 1, offline: 0 });
  });

  it('a device whose gateway was never seen counts offline', () => {
    const f = createFleetTracker();
    f.ingest(topic('deviceState', { gateway: 'gw9', device: 'l1' }), devState('luminaire', 'online'));
    assert.deepEqual(f.snapshot().luminaires, { online: 0, offline: 1 });
  });

  it('a device changing state replaces its previous one (no double counting)', () => {
    const f = createFleetTracker();
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online'));
    const t = topic('deviceState', { gateway: 'gw1', device: 'l1' });
    f.ingest(t, devState('luminaire', 'online', 1));
    f.ingest(t, devState('luminaire', 'offline', 1));
    f.ingest(t, devState('luminaire', 'online', 2));
    assert.deepEqual(f.snapshot().luminaires, { online: 1, offline: 0 });
  });

  it('an empty retained payload clears the entry', () => {
    const f = createFleetTracker();
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l1' }), devState('luminaire', 'online'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l1' }), '');
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), new Uint8Array());
    assert.deepEqual(f.snapshot(), {
      gateways: { online: 0, offline: 0 },
      luminaires: { online: 0, offline: 0 },
      aps: { online: 0, offline: 0 },
    });
  });

  it('invalid payloads and foreign topics are counted and logged, never thrown, and change nothing', () => {
    const warnings: string[] = [];
    const f = createFleetTracker({ logger: { warn: (obj) => warnings.push(JSON.stringify(obj)) } });
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online'));
    const before = f.snapshot();
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), '{not json');
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), JSON.stringify({ v: 1, status: 'maybe', seq: 1, ts: 1 }));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l1' }), JSON.stringify({ v: 2, kind: 'luminaire' }));
    f.ingest('poste/v1/gw/gw1/telemetry/luminaire', '{}');
    f.ingest('some/other/topic', gwState('online'));
    assert.deepEqual(f.snapshot(), before);
    assert.deepEqual(f.stats(), { accepted: 1, invalid: 5 });
    assert.equal(warnings.length, 5);
    assert.match(warnings[1] ?? '', /status/);
  });

  it('snapshot can be restricted to some gateways (one municipality)', () => {
    const f = createFleetTracker();
    f.ingest(topic('gatewayState', { gateway: 'gw1' }), gwState('online'));
    f.ingest(topic('gatewayState', { gateway: 'gw2' }), gwState('online'));
    f.ingest(topic('deviceState', { gateway: 'gw1', device: 'l1' }), devState('luminaire', 'online'));
    f.ingest(topic('deviceState', { gateway: 'gw2', device: 'l1' }), devState('luminaire', 'online'));
    assert.deepEqual(
      f.snapshot((gw) => gw === 'gw2'),
      {
        gateways: { online: 1, offline: 0 },
        luminaires: { online: 1, offline: 0 },
        aps: { online: 0, offline: 0 },
      },
    );
    assert.equal(f.linkConnected(), null);
  });
});
