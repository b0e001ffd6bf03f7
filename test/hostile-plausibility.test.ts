// Issue 8, item 4 tried as a hostile gateway would: mosquitto_pub and a raw socket against
// poste-cloud's broker and ingest (plausibility on, announcements required, an inventory), each
// attack refused and counted while a legitimate gateway keeps ingesting at a measured rate.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addGateway } from '@poste/broker';
import { startCloud, type Cloud } from '@poste/cloud';
import { parseInventory } from '@poste/dashboard-api';
import { encode, topic, type LuminaireReading } from '@poste/protocol';
import { MemoryStore } from '@poste/telemetry-store';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';

/** The steady gateway's offered rate, and the least it must keep during an attack (generous: shared CI cores). */
const STEADY_PER_SECOND = 20;
const MIN_STEADY_RATE = 6;

function reading(device: string, ts: number, energyWh: number, over: Partial<LuminaireReading> = {}): LuminaireReading {
  return {
    device,
    ts,
    activePower: 60,
    activeEnergy: energyWh,
    dimLevel: 100,
    voltage: 220,
    current: 0.29,
    powerFactor: 0.95,
    operatingHours: 100,
    switchOnCounter: 10,
    status: 'ok',
    ...over,
  };
}

const birth = (ts: number) => encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts, nominalPowerW: 60 });

/** A legitimate gateway: five announced luminaires, one valid batch every 1/STEADY_PER_SECOND s, QoS 1. */
class SteadyGateway {
  acked = 0;
  #timer: NodeJS.Timeout | undefined;
  #ts = Date.now() - 3_600_000;
  #energy = 1_000;
  #inFlight = 0;

  constructor(readonly client: MqttClient) {}

  async announce(): Promise<void> {
    for (let i = 0; i < 5; i++)
      await this.client.publishAsync(topic('deviceState', { gateway: 'gw-steady', device: `steady-${i}` }), birth(this.#ts - 60_000), {
        qos: 1,
        retain: true,
      });
  }

  start(): void {
    let seq = 0;
    this.#timer = setInterval(() => {
      if (this.#inFlight >= 8) return;
      // one second of device time per batch (it must not run ahead of the clock) at 60 W: +1/60 Wh
      this.#ts += 1_000;
      this.#energy += 1 / 60;
      const readings = Array.from({ length: 5 }, (_, i) => reading(`steady-${i}`, this.#ts, this.#energy));
      this.#inFlight++;
      this.client.publish(
        topic('luminaireTelemetry', { gateway: 'gw-steady' }),
        encode({ v: 1, seq: seq++, readings }),
        { qos: 1 },
        (err) => {
          this.#inFlight--;
          if (!err) this.acked++;
        },
      );
    }, 1000 / STEADY_PER_SECOND);
  }

  /** Acknowledged publishes per second while `attack` runs (at least 1 s). */
  async rateDuring(attack: () => Promise<void>): Promise<number> {
    const before = this.acked;
    const t0 = performance.now();
    await Promise.all([attack(), new Promise((r) => setTimeout(r, 1_000))]);
    return ((this.acked - before) * 1000) / (performance.now() - t0);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function mosquittoPub(port: number, user: string, password: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '-i', user, '-u', user, '-P', password, '-q', '1', ...args],
      { timeout: 15_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr }),
    );
  });
}

function mqttString(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** MQTT 3.1.1 packets by hand, as a hostile gateway would write them. */
const packets = {
  connect(user: string, password: string): Buffer {
    const body = Buffer.concat([
      mqttString('MQTT'),
      Buffer.from([4, 0xc2, 0, 30]),
      mqttString(user),
      mqttString(user),
      mqttString(password),
    ]);
    return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
  },
  /** QoS 1, retained */
  publishRetained(t: string, payload: Buffer, id: number): Buffer {
    const body = Buffer.concat([mqttString(t), Buffer.from([id >> 8, id & 0xff]), payload]);
    return Buffer.concat([Buffer.from([0x33]), remainingLength(body.length), body]);
  },
};

/** Counts PUBACKs (0x40 0x02 id id) on a raw socket until `want` arrived or `ms` passed. */
function countPubacks(s: Socket, want: number, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let acks = 0;
    const finish = () => {
      clearTimeout(timer);
      s.off('data', onData);
      resolve(acks);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = 2 + buf[1]!;
        if (buf.length < len) break;
        if (buf[0] === 0x40) acks++;
        buf = buf.subarray(len);
      }
      if (acks >= want) finish();
    };
    const timer = setTimeout(finish, ms);
    s.on('data', onData);
  });
}

describe('hostile gateways against plausibility (poste-cloud: broker + ingest)', () => {
  let dir: string;
  let cloud: Cloud;
  let store: MemoryStore;
  let steady: SteadyGateway;
  let steadyClient: MqttClient;
  const passwords: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-hostile-plausibility-'));
    const credentialsFile = join(dir, 'credentials.json');
    for (const gw of ['gw-steady', 'gw-hostile', 'gw-absent']) passwords[gw] = await addGateway(credentialsFile, gw, 'belem');
    // gw-absent has credentials but is not in the inventory.
    const inventory = parseInventory({
      municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.8 }],
      gateways: { 'gw-steady': 'belem', 'gw-hostile': 'belem' },
    });
    store = new MemoryStore();
    await store.init();
    cloud = await startCloud({
      store,
      credentialsFile,
      inventory,
      logger: pino({ level: 'silent' }),
      ingest: {
        flushIntervalMs: 20,
        fleet: { requireAnnouncement: true, inventory: { devicesOf: (gw) => (gw in inventory.gateways ? 10 : undefined) } },
      },
    });
    steadyClient = await mqtt.connectAsync(cloud.mqttUrl, {
      clientId: 'gw-steady',
      username: 'gw-steady',
      password: passwords['gw-steady'],
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    steady = new SteadyGateway(steadyClient);
    await steady.announce();
    await mosquittoPub(cloud.mqttPort, 'gw-hostile', passwords['gw-hostile']!, [
      '-t',
      topic('deviceState', { gateway: 'gw-hostile', device: 'hostile-1' }),
      '-r',
      '-m',
      birth(Date.now() - 3_600_000).toString(),
    ]);
    steady.start();
  });

  after(async () => {
    steady.stop();
    await steadyClient.endAsync();
    await cloud.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const publishHostile = (payload: string) =>
    mosquittoPub(cloud.mqttPort, 'gw-hostile', passwords['gw-hostile']!, [
      '-t',
      topic('luminaireTelemetry', { gateway: 'gw-hostile' }),
      '-m',
      payload,
    ]);

  it('activeEnergy 1e308: PUBACKed, refused by path and counted; the good reading beside it is written', async () => {
    const before = cloud.ingest.stats().rejectedByReason['implausible-value'] ?? 0;
    const ts = Date.now() - 60_000;
    let pub: { code: number | null; out: string } | undefined;
    const rate = await steady.rateDuring(async () => {
      pub = await publishHostile(
        encode({ v: 1, seq: 1, readings: [reading('hostile-1', ts, 1e308), reading('hostile-1', ts - 1_000, 500)] }).toString(),
      );
    });
    assert.equal(pub?.code, 0, `mosquitto_pub got its PUBACK: ${pub?.out}`);
    const s = cloud.ingest.stats();
    assert.equal((s.rejectedByReason['implausible-value'] ?? 0) - before, 1);
    assert.ok(s.deadLetterSamples.some((d) => d.path === 'readings[0].activeEnergy' && d.gateway === 'gw-hostile'));
    const energy = await store.luminaireEnergy({ from: ts - 3_600_000, to: ts + 1, gateway: 'gw-hostile' });
    assert.ok(
      energy.every((e) => e.energyWh < 1e6),
      JSON.stringify(energy),
    );
    assert.equal(await store.countPoints('luminaire', ts - 2_000, ts + 1), 1);
    assert.ok(rate >= MIN_STEADY_RATE, `steady gateway acknowledged ${rate.toFixed(1)}/s during the attack`);
  });

  it('a reading dated year 9999: PUBACKed, refused as future-timestamp and counted', async () => {
    const before = cloud.ingest.stats().rejectedByReason['future-timestamp'] ?? 0;
    let pub: { code: number | null; out: string } | undefined;
    const rate = await steady.rateDuring(async () => {
      pub = await publishHostile(encode({ v: 1, seq: 2, readings: [reading('hostile-1', Date.UTC(9999, 0, 1), 600)] }).toString());
    });
    assert.equal(pub?.code, 0, pub?.out);
    assert.equal((cloud.ingest.stats().rejectedByReason['future-timestamp'] ?? 0) - before, 1);
    assert.equal(await store.countPoints('luminaire', Date.UTC(9998, 0, 1), Date.UTC(9999, 11, 31)), 0);
    assert.ok(rate >= MIN_STEADY_RATE, `steady gateway acknowledged ${rate.toFixed(1)}/s during the attack`);
  });

  it('a gateway absent from the inventory announces 500 luminaires: all PUBACKed, none retained or counted online, their readings quarantined', async () => {
    const before = cloud.ingest.stats();
    const s = await new Promise<Socket>((resolve, reject) => {
      const sock = netConnect({ host: '127.0.0.1', port: cloud.mqttPort }, () => resolve(sock));
      sock.once('error', reject);
    });
    s.on('error', () => undefined);
    let acks = 0;
    const rate = await steady.rateDuring(async () => {
      const connack = new Promise<Buffer>((resolve) => s.once('data', resolve));
      s.write(packets.connect('gw-absent', passwords['gw-absent']!));
      assert.equal((await connack)[3], 0, 'gw-absent logged in');
      const acked = countPubacks(s, 500, 20_000);
      const ts = Date.now() - 600_000;
      for (let i = 0; i < 500; i++)
        s.write(packets.publishRetained(topic('deviceState', { gateway: 'gw-absent', device: `ghost-${i}` }), birth(ts), i + 1));
      acks = await acked;
    });
    assert.equal(acks, 500, 'every announcement was acknowledged (no resend loop)');
    const after = cloud.ingest.stats();
    assert.equal((after.rejectedByReason['fleet-cap'] ?? 0) - (before.rejectedByReason['fleet-cap'] ?? 0), 500);
    // The fleet view (the dashboard's tracker, subscribed to device states) saw none of them, while
    // it did see the announcement gw-hostile made before (delivery follows the PUBACK: give it time).
    await new Promise((r) => setTimeout(r, 300));
    const seen = cloud.fleetTracker.snapshot((gw) => gw === 'gw-hostile');
    assert.equal(seen.luminaires.online + seen.luminaires.offline, 1, 'the fleet view follows device states');
    const fleet = cloud.fleetTracker.snapshot((gw) => gw === 'gw-absent');
    assert.equal(fleet.luminaires.online + fleet.luminaires.offline, 0);
    s.destroy();
    // Their telemetry is quarantined, not written.
    const ts = Date.now() - 60_000;
    const pub = await mosquittoPub(cloud.mqttPort, 'gw-absent', passwords['gw-absent']!, [
      '-t',
      topic('luminaireTelemetry', { gateway: 'gw-absent' }),
      '-m',
      encode({ v: 1, seq: 0, readings: [reading('ghost-1', ts, 10), reading('ghost-2', ts, 10)] }).toString(),
    ]);
    assert.equal(pub.code, 0, pub.out);
    const q = cloud.ingest.stats().quarantine;
    assert.equal(q.total - before.quarantine.total, 2);
    assert.deepEqual(
      q.samples['gw-absent']?.map((x) => x.device),
      ['ghost-1', 'ghost-2'],
    );
    assert.equal((await store.luminaireEnergy({ from: ts - 1, to: ts + 1, gateway: 'gw-absent' })).length, 0);
    assert.ok(rate >= MIN_STEADY_RATE, `steady gateway acknowledged ${rate.toFixed(1)}/s during the attack`);
  });

  it('a 200,000-deep JSON payload: PUBACKed (QoS 1 sender stops), refused as too-deep, no stack overflow', async () => {
    const file = join(dir, 'deep.json');
    await writeFile(file, `{"v":1,"seq":3,"readings":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`);
    const before = cloud.ingest.stats().rejectedByReason['too-deep'] ?? 0;
    let pub: { code: number | null; out: string } | undefined;
    const rate = await steady.rateDuring(async () => {
      pub = await mosquittoPub(cloud.mqttPort, 'gw-hostile', passwords['gw-hostile']!, [
        '-t',
        topic('luminaireTelemetry', { gateway: 'gw-hostile' }),
        '-f',
        file,
      ]);
    });
    assert.equal(pub?.code, 0, `mosquitto_pub got its PUBACK: ${pub?.out}`);
    assert.equal((cloud.ingest.stats().rejectedByReason['too-deep'] ?? 0) - before, 1);
    assert.ok(rate >= MIN_STEADY_RATE, `steady gateway acknowledged ${rate.toFixed(1)}/s during the attack`);
  });

  it('the steady gateway lost nothing: every acknowledged reading is in the store, none refused or quarantined', async () => {
    await cloud.ingest.flush();
    const rows = await store.luminaireEnergy({ from: 0, to: Date.now() + 3_600_000, gateway: 'gw-steady' });
    assert.equal(rows.length, 5);
    const s = cloud.ingest.stats();
    assert.ok(!s.deadLetterSamples.some((d) => d.gateway === 'gw-steady'), JSON.stringify(s.deadLetterSamples));
    assert.equal(s.quarantine.samples['gw-steady'], undefined);
  });
});
