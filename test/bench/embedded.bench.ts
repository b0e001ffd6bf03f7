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

/** The points ingest makes of one message of the load generator (gateway `g`, sequence `seq`). */
function messagePoints(g: number, seq: number): Point[] {
  const body = JSON.parse(luminaireBatch(`gw${g}-lum`, seq, PER_MESSAGE, T0 + seq * 1000).toString()) as {
    readings: Array<Record<string, number | string>>;
  };
  return body.readings.map((r) => ({
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
  }));
}

/**
 * The same rows as the MQTT path, in publish order (one message per gateway per second), as
 * 5,000-point batches made one at a time: holding all of them would make every garbage collection
 * in the timed code scan them.
 */
function* batches(messagesPerClient: number): Generator<Point[]> {
  const perBatch = BATCH / PER_MESSAGE;
  const messages = messagesPerClient * GATEWAYS;
  for (let k = 0; k < messages; k += perBatch) {
    const out: Point[] = [];
    for (let j = k; j < Math.min(k + perBatch, messages); j++) out.push(...messagePoints(j % GATEWAYS, Math.floor(j / GATEWAYS)));
    yield out;
  }
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
 * The baseline and the store alone, batch by batch in turn on the same rows, so that both see the
 * same moment of a shared machine's load. The baseline: a bare DuckDB appender, row by row, into a
 * table of the store's layout (same columns, no key), one appender flushed and committed per
 * 5,000 rows (ingest's batch), on a fresh file; no validation, no duplicate check, no rollups. The
 * store alone: EmbeddedStore.write of the same batch (validation, duplicates, rollups, commit).
 * Each side is timed over its own calls only, its close at the end included (below); returns
 * points/s of each.
 */
async function appenderBesideStore(
  dir: string,
  messagesPerClient: number,
): Promise<{ raw: number; rawBeforeClose: number; alone: number; rawCloseMs: number; storeCloseMs: number }> {
  const instance = await DuckDBInstance.create(join(dir, 'raw.duckdb'));
  const conn = await instance.connect();
  const store = new EmbeddedStore({ kind: 'embedded', path: join(dir, 'alone.duckdb') });
  await store.init();
  let closed = false;
  try {
    await conn.run(
      'CREATE TABLE luminaire (municipality VARCHAR NOT NULL, gateway VARCHAR NOT NULL, luminaire VARCHAR NOT NULL, ts BIGINT NOT NULL, "group" VARCHAR, ' +
        `${DOUBLE_FIELDS.map((f) => `"${f}" DOUBLE`).join(', ')}, status VARCHAR)`,
    );
    let rawMs = 0;
    let storeMs = 0;
    let n = 0;
    const rawAppend = (batch: readonly Point[]) => {
      const t = performance.now();
      const appender = conn.createAppender('luminaire');
      return appender.then((a) => {
        for (const p of batch) {
          a.appendVarchar(p.tags.municipality!);
          a.appendVarchar(p.tags.gateway!);
          a.appendVarchar(p.tags.luminaire!);
          a.appendBigInt(BigInt(p.ts));
          a.appendVarchar(p.tags.group!);
          for (const f of DOUBLE_FIELDS) a.appendDouble(p.fields[f] as number);
          a.appendVarchar(String(p.fields.status));
          a.endRow();
        }
        a.flushSync();
        a.closeSync();
        rawMs += performance.now() - t;
      });
    };
    const storeWrite = async (batch: readonly Point[]) => {
      const t = performance.now();
      await store.write(batch);
      storeMs += performance.now() - t;
    };
    let turn = 0;
    for (const batch of batches(messagesPerClient)) {
      // Who goes first alternates: neither always gets the batch fresh in the CPU's caches.
      if (turn++ % 2 === 0) {
        await rawAppend(batch);
        await storeWrite(batch);
      } else {
        await storeWrite(batch);
        await rawAppend(batch);
      }
      n += batch.length;
    }
    // Both sides end the same way, timed: closed, which checkpoints the file (DuckDB compresses
    // what its WAL holds into the database file), and for the store saves the rollup rows it still
    // holds first (it saves them every 10 s) — no backlog left out of either rate. Without it a
    // short run is lopsided: the WAL of 160,000 rows sits just under DuckDB's 16 MB checkpoint
    // threshold on both sides, and the store's extra rollup rows alone would tip its own over.
    let t = performance.now();
    conn.closeSync();
    instance.closeSync();
    const rawCloseMs = performance.now() - t;
    // The whole path's figure below stops at its last acknowledgement, before the store's close: its
    // ratio is taken against the appender before its close too (the higher rate of the two).
    const rawBeforeClose = (n / rawMs) * 1000;
    rawMs += rawCloseMs;
    closed = true;
    t = performance.now();
    await store.close();
    const storeCloseMs = performance.now() - t;
    storeMs += storeCloseMs;
    return { raw: (n / rawMs) * 1000, rawBeforeClose, alone: (n / storeMs) * 1000, rawCloseMs, storeCloseMs };
  } finally {
    if (!closed) {
      conn.closeSync();
      instance.closeSync();
      await store.close();
    }
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
    const dir = await mkdtemp(join(tmpdir(), 'poste-bench-embedded-'));
    try {
      const { raw, rawBeforeClose, alone, rawCloseMs, storeCloseMs } = await appenderBesideStore(dir, messages);
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
      report('embedded: bare DuckDB appender (close + checkpoint at the end timed)', {
        'points/s': Math.round(raw),
        points: messages * GATEWAYS * PER_MESSAGE,
        'close ms': Math.round(rawCloseMs),
        'points/s before its close': Math.round(rawBeforeClose),
      });
      report(
        'embedded: EmbeddedStore.write alone (batches in turn with the appender; rollup save + close + checkpoint at the end timed)',
        {
          'points/s': Math.round(alone),
          'close ms': Math.round(storeCloseMs),
          'ratio to appender': (alone / raw).toFixed(2),
        },
        '≥ 0.5× the appender',
      );
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
          'ratio to appender before its close': (rate / rawBeforeClose).toFixed(2),
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
