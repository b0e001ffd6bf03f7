import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encode, topic, type ApReading, type DeviceEvent, type LuminaireReading } from '@poste/protocol';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { createBroker, type PosteBroker } from '../broker/broker';
import { CredentialsStore } from '../credentials/store';
import { counterValue } from '../metrics';
import { EmbeddedStore } from '@poste/telemetry-store';
import { StoreWriteError, type Point, type TelemetryStore } from '@poste/telemetry-store';
import { connect, silentLogger } from '../test-support/mqtt';
import { createIngest, type Ingest } from './ingest';

const T0 = Date.UTC(2025, 2, 1);

function reading(device: string, i: number, over: Partial<Record<keyof LuminaireReading, unknown>> = {}): unknown {
  return {
    device,
    ts: T0 + i * 60_000,
    activePower: 90,
    activeEnergy: 1_000 + 1.5 * i,
    dimLevel: 70,
    voltage: 221,
    current: 0.42,
    powerFactor: 0.96,
    operatingHours: 10 + i / 60,
    switchOnCounter: 3,
    status: 'ok',
    ...over,
  };
}

/** A store that fails with a retryable error the first `failures` times, like InfluxDB restarting. */
class FlakyStore implements TelemetryStore {
  readonly kind = 'flaky';
  constructor(
    private readonly inner: TelemetryStore,
    public failures: number,
  ) {}
  init = () => this.inner.init();
  write(points: readonly Point[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new StoreWriteError('503 service unavailable', true));
    }
    return this.inner.write(points);
  }
  luminaireEnergy = (q: Parameters<TelemetryStore['luminaireEnergy']>[0]) => this.inner.luminaireEnergy(q);
  luminaireHours = (q: Parameters<TelemetryStore['luminaireHours']>[0]) => this.inner.luminaireHours(q);
  apHours = (q: Parameters<TelemetryStore['apHours']>[0]) => this.inner.apHours(q);
  countPoints = (m: Point['measurement'], f: number, t: number) => this.inner.countPoints(m, f, t);
  close = () => this.inner.close();
}

describe('ingest: MQTT publish → validated points → store, PUBACK after write', () => {
  let broker: PosteBroker;
  let store: FlakyStore;
  let ingest: Ingest;
  let gw: MqttClient;

  before(async () => {
    const { store: creds, password } = await CredentialsStore.empty().withGateway('gw-7', 'belem');
    broker = await createBroker({ credentials: creds, logger: silentLogger, registry: new Registry() });
    const port = await broker.listen(0);
    store = new FlakyStore(new EmbeddedStore({ kind: 'embedded', path: ':memory:' }), 0);
    await store.init();
    ingest = createIngest({
      broker,
      store,
      directory: creds.directory(),
      flushIntervalMs: 20,
      backoff: { initialDelayMs: 5, maxDelayMs: 20 },
      logger: silentLogger,
    });
    gw = await connect(port, 'gw-7', password);
  });
  after(async () => {
    await gw.endAsync();
    await ingest.close();
    await broker.close();
    await store.close();
  });

  test('a valid luminaire batch is written before its PUBACK, municipality from the directory', async () => {
    const payload = { v: 1, seq: 1, readings: [reading('L1', 0), reading('L1', 1, { group: 'crossings' }), reading('L2', 0)] };
    await gw.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-7' }), encode(payload), { qos: 1 });
    // No waiting: the PUBACK came after the write.
    assert.equal(await store.countPoints('luminaire', T0, T0 + 3_600_000), 3);
    const rows = await store.luminaireEnergy({ from: T0, to: T0 + 3_600_000, municipality: 'belem', gateway: 'gw-7' });
    assert.deepEqual(
      rows.map((r) => [r.luminaire, r.group, r.energyWh]),
      [
        ['L1', 'crossings', 1.5],
        ['L2', 'ungrouped', 0],
      ],
    );
    assert.equal(ingest.stats().pointsWritten, 3);
  });

  test('one bad reading is dead-lettered with its path; the rest of the batch is written', async () => {
    const before = await store.countPoints('luminaire', T0, T0 + 86_400_000);
    const payload = { v: 1, seq: 2, readings: [reading('L3', 10), reading('L3', 11, { dimLevel: 140 }), reading('L3', 12)] };
    await gw.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-7' }), encode(payload), { qos: 1 });
    assert.equal(await store.countPoints('luminaire', T0, T0 + 86_400_000), before + 2);
    const s = ingest.stats();
    assert.equal(s.rejectedByReason['invalid-item'], 1);
    const sample = s.deadLetterSamples.at(-1);
    assert.equal(sample?.path, 'readings[1].dimLevel');
    assert.equal(sample?.gateway, 'gw-7');
    assert.equal(await counterValue(broker.metrics.ingestRejected, { reason: 'invalid-item' }), 1);
  });

  test('malformed JSON is counted and acknowledged, and the gateway stays connected', async () => {
    await gw.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-7' }), '{"v":1,"seq":', { qos: 1 });
    await gw.publishAsync(topic('events', { gateway: 'gw-7' }), encode({ v: 2, seq: 1, events: [] }), { qos: 1 });
    const s = ingest.stats();
    assert.equal(s.rejectedByReason['invalid-json'], 1);
    assert.equal(s.rejectedByReason['invalid-envelope'], 1);
    assert.ok(gw.connected);
  });

  test('AP and event batches become ap (flattened per-class fields) and event points', async () => {
    const ap: ApReading = {
      device: 'ap-1',
      ts: T0,
      capacityKbps: 50_000,
      uptime: 3_600,
      clients: { household: 2, telemedicine: 1, public: 4 },
      bytes: { household: 10_000, telemedicine: 2_000, public: 5_000 },
    };
    const ev: DeviceEvent = { device: 'L1', ts: T0 + 5, type: 'lampFailure', active: true, detail: 'open circuit' };
    await gw.publishAsync(topic('apTelemetry', { gateway: 'gw-7' }), encode({ v: 1, seq: 3, readings: [ap] }), { qos: 1 });
    await gw.publishAsync(topic('events', { gateway: 'gw-7' }), encode({ v: 1, seq: 4, events: [ev] }), { qos: 1 });
    assert.equal(await store.countPoints('ap', T0, T0 + 1), 1);
    assert.equal(await store.countPoints('event', T0, T0 + 10), 1);
  });

  test('retryable store errors are retried with backoff; the PUBACK waits for the successful write', async () => {
    store.failures = 2;
    const retriesBefore = ingest.stats().writeRetries;
    await gw.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-7' }), encode({ v: 1, seq: 5, readings: [reading('L9', 0)] }), {
      qos: 1,
    });
    assert.equal(ingest.stats().writeRetries - retriesBefore, 2);
    const rows = await store.luminaireEnergy({ from: T0, to: T0 + 60_000, gateway: 'gw-7' });
    assert.ok(rows.some((r) => r.luminaire === 'L9'));
  });
});
