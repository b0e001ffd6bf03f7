import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { encode, topic, type DeviceState, type LuminaireReading } from '@poste/protocol';
import { MemoryStore } from '@poste/telemetry-store';
import type { PublishPacket } from 'aedes';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { createBroker, type PosteBroker } from '../broker/broker';
import { CredentialsStore } from '../credentials/store';
import { counterValue } from '../metrics';
import { connect, silentLogger } from '../test-support/mqtt';
import { createIngest, type Ingest, type IngestOptions } from './ingest';

const T0 = Date.UTC(2026, 0, 10);
const DAY = 86_400_000;
const clock = { now: () => T0 + DAY };

function reading(device: string, minute: number, over: Partial<LuminaireReading> = {}): LuminaireReading {
  return {
    device,
    ts: T0 + minute * 60_000,
    activePower: 90,
    activeEnergy: 1_000 + 1.5 * minute,
    dimLevel: 100,
    voltage: 221,
    current: 0.42,
    powerFactor: 0.96,
    operatingHours: 10 + minute / 60,
    switchOnCounter: 3,
    status: 'ok',
    ...over,
  };
}

const birth = (ts = T0, nominalPowerW = 90): DeviceState => ({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts, nominalPowerW });

interface Rig {
  broker: PosteBroker;
  store: MemoryStore;
  ingest: Ingest;
  gw: MqttClient;
  publish(readings: unknown[], seq?: number): Promise<void>;
  announce(device: string, state?: DeviceState | string): Promise<void>;
}

let current: Rig | undefined;

async function rig(over: Partial<IngestOptions> = {}): Promise<Rig> {
  const { store: creds, password } = await CredentialsStore.empty().withGateway('gw-1', 'belem');
  const broker = await createBroker({ credentials: creds, logger: silentLogger, registry: new Registry() });
  const port = await broker.listen(0);
  const store = new MemoryStore();
  await store.init();
  const ingest = createIngest({ broker, store, directory: creds.directory(), flushIntervalMs: 10, logger: silentLogger, clock, ...over });
  const gw = await connect(port, 'gw-1', password);
  let seq = 0;
  current = {
    broker,
    store,
    ingest,
    gw,
    publish: async (readings, s = seq++) => {
      await gw.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-1' }), encode({ v: 1, seq: s, readings }), { qos: 1 });
    },
    announce: async (device, state = birth()) => {
      const payload = typeof state === 'string' ? state : encode(state);
      await gw.publishAsync(topic('deviceState', { gateway: 'gw-1', device }), payload, { qos: 1, retain: true });
    },
  };
  return current;
}

async function retainedDevices(broker: PosteBroker): Promise<string[]> {
  const persistence = (broker.aedes as unknown as { persistence: { createRetainedStream(p: string): AsyncIterable<PublishPacket> } })
    .persistence;
  const out: string[] = [];
  for await (const p of persistence.createRetainedStream('poste/v1/gw/+/dev/+/state')) out.push(p.topic.split('/')[5]!);
  return out.sort();
}

afterEach(async () => {
  if (!current) return;
  await current.gw.endAsync(true);
  await current.ingest.close();
  await current.broker.close();
  await current.store.close();
  current = undefined;
});

describe('ingest plausibility', () => {
  test('1e308 Wh is refused by path and counted; the good readings of the batch are written', async () => {
    const r = await rig();
    await r.publish([reading('L1', 0), reading('L1', 1, { activeEnergy: 1e308 }), reading('L2', 0)]);
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 2);
    const s = r.ingest.stats();
    assert.equal(s.rejectedByReason['implausible-value'], 1);
    assert.equal(s.deadLetterSamples.at(-1)?.path, 'readings[1].activeEnergy');
    assert.equal(await counterValue(r.broker.metrics.ingestRejected, { reason: 'implausible-value' }), 1);
  });

  test('an energy counter rising faster than the rated power allows is refused; the next plausible one is taken', async () => {
    const r = await rig();
    await r.announce('L1', birth(T0, 90));
    // 90 W rated: at most 90 × 1.25 W over 10 min (+5 Wh) ≈ 23.8 Wh; 500 Wh is refused
    await r.publish([reading('L1', 0), reading('L1', 10, { activeEnergy: 1_500 }), reading('L1', 20, { activeEnergy: 1_030 })]);
    const s = r.ingest.stats();
    assert.equal(s.rejectedByReason['implausible-step'], 1);
    assert.equal(s.deadLetterSamples.at(-1)?.path, 'readings[1].activeEnergy');
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 2);
  });

  test('a reading dated year 9999 is refused against the injected clock; one two days before the device birth too', async () => {
    const r = await rig();
    await r.announce('L1', birth(T0));
    await r.publish([
      reading('L1', 0, { ts: Date.UTC(9999, 0, 1) }),
      reading('L1', 0, { ts: T0 - 2 * DAY }),
      reading('L1', 0, { ts: T0 - 3_600_000 }),
      reading('L1', 5),
    ]);
    const s = r.ingest.stats();
    assert.equal(s.rejectedByReason['future-timestamp'], 1);
    assert.equal(s.rejectedByReason['before-birth'], 1);
    // an hour before the birth is within the grace (readings buffered while booting)
    assert.equal(await r.store.countPoints('luminaire', 0, Date.UTC(9999, 11, 31)), 2);
  });

  test('unannounced and elsewhere-assigned devices are quarantined: counted, sampled, not written', async () => {
    const r = await rig({
      fleet: { requireAnnouncement: true, inventory: { gatewayOf: (d) => (d === 'L-other' ? 'gw-2' : undefined) } },
    });
    await r.announce('L1');
    await r.publish([reading('L1', 0), reading('L-ghost', 0), reading('L-other', 0)]);
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 1);
    const q = r.ingest.stats().quarantine;
    assert.equal(q.total, 2);
    assert.deepEqual(q.byReason, { unannounced: 1, 'assigned-elsewhere': 1 });
    assert.deepEqual(
      q.samples['gw-1']?.map((x) => [x.device, x.reason]),
      [
        ['L-ghost', 'unannounced'],
        ['L-other', 'assigned-elsewhere'],
      ],
    );
    const counter = (r.broker.metrics.registry.getSingleMetric('poste_ingest_quarantined_total') ?? undefined) as Parameters<
      typeof counterValue
    >[0];
    assert.equal(await counterValue(counter, { reason: 'unannounced' }), 1);
    assert.equal(r.ingest.stats().rejected, 0);
  });

  test('announcements beyond the gateway cap are acknowledged, counted and neither retained nor delivered', async () => {
    const r = await rig({ fleet: { maxDevicesPerGateway: 3, requireAnnouncement: true } });
    for (const d of ['L1', 'L2', 'L3', 'L4', 'L5']) await r.announce(d);
    await r.announce('L6', '{"v":1,"kind":"toaster"}');
    assert.deepEqual(await retainedDevices(r.broker), ['L1', 'L2', 'L3']);
    const s = r.ingest.stats();
    assert.equal(s.rejectedByReason['fleet-cap'], 2);
    assert.equal(s.rejectedByReason['invalid-device-state'], 1);
    assert.ok(r.gw.connected);
    // clearing a device's state frees its place
    await r.announce('L1', '');
    await r.announce('L4');
    assert.deepEqual(await retainedDevices(r.broker), ['L2', 'L3', 'L4']);
  });

  test('a gateway absent from an inventory with device counts may announce none', async () => {
    const r = await rig({ fleet: { requireAnnouncement: true, inventory: { devicesOf: () => undefined } } });
    await r.announce('L1');
    await r.publish([reading('L1', 0)]);
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 0);
    assert.equal(r.ingest.stats().rejectedByReason['fleet-cap'], 1);
    assert.equal(r.ingest.stats().quarantine.byReason['gateway-not-in-inventory'], 1);
  });

  test('without required announcements, devices past the fleet cap are still written (no step state kept for them)', async () => {
    const r = await rig({ fleet: { maxDevicesPerGateway: 2 } });
    await r.publish([reading('L1', 0), reading('L2', 0), reading('L3', 0), reading('L3', 1, { activeEnergy: 1e6 })]);
    // L3 has no step state: its jump is judged by the absolute bounds only
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 4);
    assert.equal(r.ingest.stats().quarantine.total, 0);
    await r.publish([reading('L1', 1, { activeEnergy: 1e6 })]);
    assert.equal(r.ingest.stats().rejectedByReason['implausible-step'], 1, 'L1 is tracked');
  });

  test('a 200,000-deep payload is refused before parsing, acknowledged (PUBACK), and the gateway keeps ingesting', async () => {
    const r = await rig();
    const deep = `{"v":1,"seq":0,"readings":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
    await r.gw.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-1' }), deep, { qos: 1 });
    await r.gw.publishAsync(topic('events', { gateway: 'gw-1' }), `{"v":1,"seq":0,"events":[${'{"a":'.repeat(100)}1${'}'.repeat(100)}]}`, {
      qos: 1,
    });
    assert.equal(r.ingest.stats().rejectedByReason['too-deep'], 2);
    await r.publish([reading('L1', 0)]);
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 1);
  });

  test('the status file shows refusals and the quarantine to an operator without /metrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-ingest-status-'));
    try {
      const file = join(dir, 'ingest-status.json');
      const r = await rig({ statusFile: file, fleet: { requireAnnouncement: true } });
      await r.announce('L1');
      await r.publish([reading('L1', 0, { voltage: 800 }), reading('L-ghost', 0)]);
      await r.ingest.close();
      const status = JSON.parse(await readFile(file, 'utf8')) as {
        rejectedByReason: Record<string, number>;
        deadLetterSamples: Array<{ path: string }>;
        quarantine: { total: number; samples: Record<string, Array<{ device: string }>> };
      };
      assert.equal(status.rejectedByReason['implausible-value'], 1);
      assert.equal(status.deadLetterSamples[0]?.path, 'readings[0].voltage');
      assert.equal(status.quarantine.total, 1);
      assert.equal(status.quarantine.samples['gw-1']?.[0]?.device, 'L-ghost');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a new ingest learns announced devices from the retained states (restart)', async () => {
    const r = await rig({ fleet: { requireAnnouncement: true } });
    await r.announce('L1');
    await r.ingest.close();
    r.ingest = createIngest({
      broker: r.broker,
      store: r.store,
      directory: new Map([['gw-1', 'belem']]),
      flushIntervalMs: 10,
      logger: silentLogger,
      clock,
      fleet: { requireAnnouncement: true },
    });
    await r.publish([reading('L1', 0)]);
    assert.equal(await r.store.countPoints('luminaire', T0, T0 + DAY), 1);
    assert.equal(r.ingest.stats().quarantine.total, 0);
  });
});
