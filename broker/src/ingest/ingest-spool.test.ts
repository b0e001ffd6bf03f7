// Ingest durability with real parts: a real broker and MQTT clients, the memory store made to fail,
// a real influxd for the partial write, and a DuckDB file on a small full tmpfs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { encode, topic } from '@poste/protocol';
import { EmbeddedStore, InfluxDB1Store, MemoryStore, type StoreWriter } from '@poste/telemetry-store';
import { startInfluxDB, type RunningInfluxDB } from '@poste/telemetry-store/testing';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { createBroker, type PosteBroker } from '../broker/broker';
import { CredentialsStore } from '../credentials/store';
import { counterValue } from '../metrics';
import { closed, connect, silentLogger } from '../test-support/mqtt';
import { createIngest, type Ingest, type IngestOptions } from './ingest';

const T0 = Date.UTC(2025, 2, 1);
const HOUR = 3_600_000;

function reading(device: string, ts: number, activeEnergy = 1_000): unknown {
  return {
    device,
    ts,
    activePower: 90,
    activeEnergy,
    dimLevel: 70,
    voltage: 221,
    current: 0.42,
    powerFactor: 0.96,
    operatingHours: 10,
    switchOnCounter: 3,
    status: 'ok',
  };
}

const luminaireTopic = (gw: string) => topic('luminaireTelemetry', { gateway: gw });
const batch = (seq: number, readings: unknown[]) => encode({ v: 1, seq, readings });

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

interface Rig {
  broker: PosteBroker;
  port: number;
  passwords: Map<string, string>;
  clients: MqttClient[];
  ingests: Ingest[];
  dir: string;
}

async function rig(gateways = ['gw-1']): Promise<Rig> {
  let creds = CredentialsStore.empty();
  const passwords = new Map<string, string>();
  for (const id of gateways) {
    const added = await creds.withGateway(id, 'belem');
    creds = added.store;
    passwords.set(id, added.password);
  }
  const broker = await createBroker({ credentials: creds, logger: silentLogger, registry: new Registry() });
  const port = await broker.listen(0);
  const dir = await mkdtemp(join(tmpdir(), 'poste-ingest-spool-'));
  return { broker, port, passwords, clients: [], ingests: [], dir };
}

function startIngest(r: Rig, store: StoreWriter, extra: Partial<IngestOptions> = {}): Ingest {
  const ingest = createIngest({
    broker: r.broker,
    store,
    directory: new Map([...r.passwords.keys()].map((g) => [g, 'belem'])),
    flushIntervalMs: 10,
    backoff: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
    spool: { dir: join(r.dir, 'spool'), maxBytes: 16 << 20, drainBackoff: { initialDelayMs: 20, maxDelayMs: 100 } },
    logger: silentLogger,
    ...extra,
  });
  r.ingests.push(ingest);
  return ingest;
}

async function client(r: Rig, gw = 'gw-1'): Promise<MqttClient> {
  const c = await connect(r.port, gw, r.passwords.get(gw)!);
  r.clients.push(c);
  return c;
}

async function teardown(r: Rig): Promise<void> {
  for (const c of r.clients) await c.endAsync(true).catch(() => undefined);
  for (const i of r.ingests) await i.close();
  await r.broker.close();
  await rm(r.dir, { recursive: true, force: true });
}

describe('ingest spool: PUBACK = in the store or fsynced in the spool', () => {
  let r: Rig;
  afterEach(async () => teardown(r));

  test('store down: batches are spooled and acknowledged; drained in order when it recovers, counts exact', async () => {
    r = await rig();
    const store = new MemoryStore();
    store.failing = true;
    // The drainer pauses 1.5 s after a failure: the publish after recovery surely finds the spool non-empty.
    const ingest = startIngest(r, store, {
      spool: { dir: join(r.dir, 'spool'), maxBytes: 1 << 20, drainBackoff: { initialDelayMs: 1_500, maxDelayMs: 1_500, jitter: 0 } },
    });
    const gw = await client(r);
    // Same series and ts twice: the first value stands and the later one is refused as a conflicting
    // duplicate, which only holds if the spool keeps order.
    await gw.publishAsync(luminaireTopic('gw-1'), batch(1, [reading('L1', T0, 100), reading('L2', T0)]), { qos: 1 });
    await gw.publishAsync(luminaireTopic('gw-1'), batch(2, [reading('L1', T0, 200), reading('L1', T0 + 30 * 60_000, 250)]), { qos: 1 });
    // both PUBACKs arrived while the store was down: the batches are on disk
    let s = ingest.stats();
    assert.equal(s.spool?.spooledBatches, 2);
    assert.equal(s.spool?.depthBatches, 2);
    assert.equal(s.pointsWritten, 0);
    assert.ok((await readdir(join(r.dir, 'spool'))).some((f) => f.endsWith('.seg')));
    store.failing = false;
    // the first publish after recovery still goes behind the spool
    await gw.publishAsync(luminaireTopic('gw-1'), batch(3, [reading('L1', T0, 300)]), { qos: 1 });
    await until('the spool to drain', () => ingest.stats().spool?.depthBatches === 0);
    s = ingest.stats();
    assert.equal(s.pointsWritten, 3);
    assert.equal(s.rejected, 2);
    assert.equal(await store.countPoints('luminaire', T0, T0 + HOUR), 3);
    const energy = await store.luminaireEnergy({ from: T0, to: T0 + HOUR });
    // L1 at T0 holds 100 (the first written; 200 and 300 were conflicting duplicates), then 250 at T0+30min
    assert.deepEqual(energy.find((e) => e.luminaire === 'L1')?.energyWh, 150);
    assert.equal(await counterValue(r.broker.metrics.ingestSpoolDrainedPoints), 5);
    // with the spool empty, new batches go straight to the store again
    await gw.publishAsync(luminaireTopic('gw-1'), batch(4, [reading('L3', T0)]), { qos: 1 });
    assert.equal(ingest.stats().spool?.spooledBatches, 3);
    assert.equal(await store.countPoints('luminaire', T0, T0 + HOUR), 4);
  });

  test('a store that fails a few times: retried, then spooled, nothing lost or counted twice', async () => {
    r = await rig();
    const store = new MemoryStore();
    store.failNextWrites = 5;
    const ingest = startIngest(r, store);
    const gw = await client(r);
    for (let i = 0; i < 4; i++)
      await gw.publishAsync(luminaireTopic('gw-1'), batch(i, [reading(`L${i}`, T0), reading(`L${i}`, T0 + 1)]), { qos: 1 });
    await until('the spool to drain', () => ingest.stats().spool?.depthBatches === 0 && ingest.stats().pointsWritten === 8);
    assert.equal(store.failNextWrites, 0);
    assert.equal(await store.countPoints('luminaire', T0, T0 + 2), 8);
    assert.equal(store.writtenPoints, 8);
  });

  test('a spool left non-empty by one ingest is drained by the next one on start', async () => {
    r = await rig();
    const down = new MemoryStore({ name: 'ingest-spool-restart' });
    down.failing = true;
    const first = startIngest(r, down);
    const gw = await client(r);
    for (let i = 0; i < 3; i++) await gw.publishAsync(luminaireTopic('gw-1'), batch(i, [reading('L1', T0 + i * 60_000)]), { qos: 1 });
    assert.equal(first.stats().spool?.depthBatches, 3);
    await first.close();
    r.ingests.length = 0;
    const up = new MemoryStore({ name: 'ingest-spool-restart' });
    const second = startIngest(r, up);
    await until('the next ingest to drain the spool', () => second.stats().spool?.depthBatches === 0);
    assert.equal(second.stats().spool?.drainedPoints, 3);
    assert.equal(await up.countPoints('luminaire', T0, T0 + HOUR), 3);
  });

  test('spool full: the PUBACK is held until the store recovers; past the cap a publish is refused without PUBACK', async () => {
    r = await rig(['gw-1', 'gw-2']);
    const store = new MemoryStore();
    store.failing = true;
    const ingest = startIngest(r, store, {
      spool: { dir: join(r.dir, 'spool'), maxBytes: 64 * 1024, drainBackoff: { initialDelayMs: 20, maxDelayMs: 50 } },
      maxHeldMessages: 1,
    });
    const gw = await client(r);
    // ~100 points a message, ~25 KiB spooled each: the third does not fit in 64 KiB
    const big = (seq: number) =>
      batch(
        seq,
        Array.from({ length: 100 }, (_, i) => reading(`L${i}`, T0 + seq * 60_000)),
      );
    await gw.publishAsync(luminaireTopic('gw-1'), big(1), { qos: 1 });
    await gw.publishAsync(luminaireTopic('gw-1'), big(2), { qos: 1 });
    const held = gw.publishAsync(luminaireTopic('gw-1'), big(3), { qos: 1 });
    assert.equal(await settlesWithin(held, 600), false, 'the PUBACK must wait for room in the spool');
    assert.equal(ingest.stats().spool?.fullWaits, 1);
    assert.equal(ingest.stats().heldMessages, 1);
    // another gateway publishing now finds the cap reached: no PUBACK, disconnected, resends later
    const other = await client(r, 'gw-2');
    const refused = other.publishAsync(luminaireTopic('gw-2'), batch(1, [reading('X1', T0)]), { qos: 1 });
    await closed(other);
    assert.equal(await settlesWithin(refused, 50), false);
    assert.equal(ingest.stats().refusedBusy, 1);
    store.failing = false;
    await held;
    await until('the spool to drain', () => ingest.stats().spool?.depthBatches === 0);
    assert.equal(await store.countPoints('luminaire', T0, T0 + HOUR), 300);
    assert.equal(ingest.stats().pointsWritten, 300);
  });
});

describe('ingest on a real influxd: a partial write', () => {
  let influx: RunningInfluxDB;
  let r: Rig;
  before(async () => {
    influx = await startInfluxDB();
  });
  after(async () => {
    await teardown(r);
    await influx.stop();
  });

  test('one point in conflict (a string into a float field) is refused alone; the good ones count as written', async () => {
    r = await rig();
    const store = new InfluxDB1Store({ kind: 'influxdb1', url: influx.url, database: 'partial' });
    await store.init();
    // In another week's shard, `status` was first written as a float: a string there is a field
    // type conflict, while the same field in this week's shard is fine.
    const otherWeek = T0 - 30 * 24 * HOUR;
    await store.write([
      {
        measurement: 'luminaire',
        tags: { municipality: 'belem', gateway: 'gw-1', luminaire: 'L9', group: 'ungrouped' },
        fields: { status: 1.5 },
        ts: otherWeek,
      },
    ]);
    const ingest = startIngest(r, store);
    const gw = await client(r);
    await gw.publishAsync(luminaireTopic('gw-1'), batch(1, [reading('L1', T0), reading('L1', otherWeek + 60_000), reading('L2', T0)]), {
      qos: 1,
    });
    const s = ingest.stats();
    assert.equal(s.pointsWritten, 2);
    assert.equal(s.partialWrites, 1);
    assert.deepEqual(s.rejectedByReason, { 'store-rejected': 1 });
    assert.match(s.deadLetterSamples.at(-1)?.detail ?? '', /field type conflict/);
    assert.equal(s.spool?.spooledBatches, 0);
    assert.equal(s.writeRetries, 0);
    // influxd 1.x answers a partial write on the first shard's error, while the other shard's write
    // may still be finishing: the good points show up a moment later.
    await until('the good points to be queryable', async () => (await store.countPoints('luminaire', T0, T0 + HOUR)) === 2);
    assert.equal(await counterValue(r.broker.metrics.ingestPartialRefusedPoints), 1);
    assert.equal(await counterValue(r.broker.metrics.ingestPointsWritten), 2);
  });
});

describe('ingest with the embedded store on a full disk (a small tmpfs)', () => {
  let r: Rig;
  let mountDir = '';
  let skip: string | undefined;
  before(async () => {
    mountDir = await mkdtemp(join(tmpdir(), 'poste-ingest-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountDir], { stdio: 'pipe' });
    } catch (err) {
      skip = `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
    }
  });
  after(async () => {
    if (r) await teardown(r);
    if (!skip) execFileSync('umount', ['-l', mountDir]);
    await rm(mountDir, { recursive: true, force: true });
  });

  test('disk full is retryable: batches spool, PUBACKs go out, and nothing is lost after space is freed', async (t) => {
    if (skip) return t.skip(skip);
    r = await rig();
    const store = new EmbeddedStore({ kind: 'embedded', path: join(mountDir, 'telemetry.duckdb') });
    await store.init();
    const ingest = startIngest(r, store);
    const gw = await client(r);
    await gw.publishAsync(luminaireTopic('gw-1'), batch(0, [reading('L0', T0)]), { qos: 1 });
    const { bavail, bsize } = await statfs(mountDir);
    const filler = join(mountDir, 'filler');
    await writeFile(filler, Buffer.alloc(bavail * bsize));
    let sent = 1;
    for (let seq = 1; seq <= 40 && (ingest.stats().spool?.spooledBatches ?? 0) < 2; seq++) {
      const readings = Array.from({ length: 200 }, (_, i) => reading(`L${i}`, T0 + seq * 60_000));
      await gw.publishAsync(luminaireTopic('gw-1'), batch(seq, readings), { qos: 1 });
      sent += readings.length;
    }
    const s = ingest.stats();
    assert.ok((s.spool?.spooledBatches ?? 0) >= 1, 'the store should have run out of disk');
    assert.equal(s.rejected, 0, 'disk full must never be permanent');
    await rm(filler);
    await until('the spool to drain', () => ingest.stats().spool?.depthBatches === 0, 20_000);
    assert.equal(ingest.stats().pointsWritten, sent);
    assert.equal(await store.countPoints('luminaire', T0, T0 + HOUR), sent);
    await ingest.close();
    r.ingests.length = 0;
    await store.close();
  });
});
