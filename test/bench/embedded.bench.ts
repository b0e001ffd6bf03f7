// The embedded DuckDB store at the hardware's pace: gateways publish QoS 1 batches over MQTT to a
// Poste broker whose ingest writes into the embedded store (PUBACK only once written), beside a
// bare DuckDB appender loading the same rows into the same table layout, in the same run; and
// beside the same MQTT path into InfluxDB 1.6 and into the in-memory store (what broker + ingest
// alone carry on this machine: the ceiling any store's figure here is under).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EmbeddedStore, type Point } from '@poste/telemetry-store';
import { startInfluxDB } from '../harness/influxdb';
import type { BenchModule } from './bench-kit';
import { report } from './bench-kit';
import { throughMqttInto } from './ingest.bench';
import { luminaireBatch, type LoadSpec } from './load/mqtt-load';

const T0 = Date.UTC(2026, 0, 1);
const GATEWAYS = 8;
const PER_MESSAGE = 500;
const BATCH = 5_000;

/** The points ingest makes of the load generator's messages, in publish order (one message per gateway per second). */
function samePoints(messagesPerClient: number): Point[] {
  const out: Point[] = [];
  for (let seq = 0; seq < messagesPerClient; seq++) {
    for (let g = 0; g < GATEWAYS; g++) {
      const body = JSON.parse(luminaireBatch(`gw${g}-lum`, seq, PER_MESSAGE, T0 + seq * 1000).toString()) as {
        readings: Array<Record<string, number | string>>;
      };
      for (const r of body.readings) {
        out.push({
          measurement: 'luminaire',
          tags: { municipality: 'campinas', gateway: `gw${g}`, luminaire: String(r.device), group: String(r.group) },
          fields: {
            activePower: r.activePower!,
            activeEnergy: r.activeEnergy!,
            dimLevel: r.dimLevel!,
            voltage: r.voltage!,
            current: r.current!,
            powerFactor: r.powerFactor!,
            operatingHours: r.operatingHours!,
            switchOnCounter: r.switchOnCounter!,
            status: r.status!,
          },
          ts: Number(r.ts),
        });
      }
    }
  }
  return out;
}

const DOUBLE_FIELDS = [
  'activePower',
  'activeEnergy',
  'dimLevel',
  'voltage',
  'current',
  'powerFactor',
  'operatingHours',
  'switchOnCounter',
] as const;

/**
 * The baseline: a bare DuckDB appender, row by row, into a table of the store's layout (same
 * columns, no key), one appender flushed and committed per 5,000 rows (ingest's batch), on a
 * fresh file. No validation, no duplicate check, no rollups.
 */
async function rawAppender(path: string, points: readonly Point[]): Promise<number> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    await conn.run(
      'CREATE TABLE luminaire (municipality VARCHAR NOT NULL, gateway VARCHAR NOT NULL, luminaire VARCHAR NOT NULL, ts BIGINT NOT NULL, "group" VARCHAR, ' +
        `${DOUBLE_FIELDS.map((f) => `"${f}" DOUBLE`).join(', ')}, status VARCHAR)`,
    );
    const t = performance.now();
    for (let off = 0; off < points.length; off += BATCH) {
      const appender = await conn.createAppender('luminaire');
      for (const p of points.slice(off, off + BATCH)) {
        appender.appendVarchar(p.tags.municipality!);
        appender.appendVarchar(p.tags.gateway!);
        appender.appendVarchar(p.tags.luminaire!);
        appender.appendBigInt(BigInt(p.ts));
        appender.appendVarchar(p.tags.group!);
        for (const f of DOUBLE_FIELDS) appender.appendDouble(p.fields[f] as number);
        appender.appendVarchar(String(p.fields.status));
        appender.endRow();
      }
      appender.flushSync();
      appender.closeSync();
    }
    return (points.length / (performance.now() - t)) * 1000;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The store alone: EmbeddedStore.write of 5,000-point batches, one after the other (validation, duplicates, rollups, commit). */
async function storeAlone(path: string, points: readonly Point[]): Promise<number> {
  const store = new EmbeddedStore({ kind: 'embedded', path });
  await store.init();
  try {
    const t = performance.now();
    for (let off = 0; off < points.length; off += BATCH) await store.write(points.slice(off, off + BATCH));
    return (points.length / (performance.now() - t)) * 1000;
  } finally {
    await store.close();
  }
}

export const embeddedBench: BenchModule = {
  name: 'embedded',
  description: `MQTT publish → written in the embedded DuckDB store (points/s, ${GATEWAYS} gateways × ${PER_MESSAGE}-reading QoS 1 batches) vs a bare DuckDB appender, same rows, same run; beside the InfluxDB 1.6 and in-memory paths`,
  async run({ quick }) {
    const messages = quick ? 40 : 150;
    const load: Omit<LoadSpec, 'url' | 'clients'> = {
      messagesPerClient: messages,
      readingsPerMessage: PER_MESSAGE,
      window: 4,
      startTs: T0,
    };
    const points = samePoints(messages);
    const dir = await mkdtemp(join(tmpdir(), 'poste-bench-embedded-'));
    try {
      // The machine is shared: the appender and the store alone take turns, each on a fresh file,
      // and the best round of each counts (the one least slowed by others).
      const raws: number[] = [];
      const alones: number[] = [];
      for (let round = 0; round < (quick ? 2 : 3); round++) {
        raws.push(await rawAppender(join(dir, `raw-${round}.duckdb`), points));
        alones.push(await storeAlone(join(dir, `alone-${round}.duckdb`), points));
      }
      const raw = Math.max(...raws);
      const alone = Math.max(...alones);
      const whole = await throughMqttInto({ kind: 'embedded', path: join(dir, 'poste.duckdb') }, load, GATEWAYS);
      const memory = await throughMqttInto({ kind: 'memory' }, load, GATEWAYS);
      const influx = await startInfluxDB();
      let viaInflux: Awaited<ReturnType<typeof throughMqttInto>>;
      try {
        viaInflux = await throughMqttInto({ kind: 'influxdb1', url: influx.url, database: 'poste_embedded_bench' }, load, GATEWAYS);
      } finally {
        await influx.stop();
      }
      const rate = whole.load.readingsPerSec;
      const rounds = (xs: number[]) => xs.map((x) => Math.round(x / 1000)).join('/');
      report('embedded: bare DuckDB appender', { 'points/s': Math.round(raw), 'rounds k/s': rounds(raws), points: points.length });
      report('embedded: EmbeddedStore.write alone', {
        'points/s': Math.round(alone),
        'rounds k/s': rounds(alones),
        'ratio to appender': (alone / raw).toFixed(2),
      });
      report('embedded: MQTT → Poste → memory store', {
        'points/s': Math.round(memory.load.readingsPerSec),
        written: memory.written,
        'ack p50 ms': memory.load.ackP50,
      });
      report('embedded: MQTT → Poste → InfluxDB 1.6', {
        'points/s': Math.round(viaInflux.load.readingsPerSec),
        written: viaInflux.written,
        'ack p50 ms': viaInflux.load.ackP50,
      });
      report(
        'embedded: MQTT → Poste → embedded',
        {
          'points/s': Math.round(rate),
          points: whole.load.readings,
          written: whole.written,
          'ack p50 ms': whole.load.ackP50,
          'ack p99 ms': whole.load.ackP99,
          'ratio to appender': (rate / raw).toFixed(2),
          'ratio to InfluxDB path': (rate / viaInflux.load.readingsPerSec).toFixed(2),
        },
        '≥ 100k points/s, ≥ 0.5× the appender',
      );
      for (const [name, r] of [
        ['embedded', whole],
        ['memory', memory],
        ['InfluxDB', viaInflux],
      ] as const)
        if (r.written !== r.load.readings) console.log(`   MISS (${name}): ${r.load.readings} readings acknowledged, ${r.written} written`);
      console.log(
        '   one machine: the load generator (a child process), the broker with ingest and the store (and influxd) share its cores; the appender baseline has no broker, no JSON, no validation and no rollups',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
