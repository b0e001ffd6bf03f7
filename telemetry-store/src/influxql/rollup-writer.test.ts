// The coalesced rollup rows on a real influxd 1.6: many writes to the same series-hours send their
// rows once, at the flush; and a writer that dies between the raw points and the flush (its rows
// never sent) leaves marks from which the next open recomputes the rows, compared hour by hour
// with a recomputation from the raw points read back from influxd.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rowsFromReadings } from '../rollups/reference';
import { HOUR_MS, type LuminaireRow, toLuminaireHour } from '../rollups/rows';
import { createTestDatabase } from '../testing/influx-database';
import { startInfluxDB, type RunningInfluxDB } from '../testing/influxd';
import type { Point } from '../types';
import { FLUSHED_MEASUREMENT, PENDING_MEASUREMENT } from './pending-marks';
import { pointFromRecord, recordsOf } from './records';
import { InfluxRollupLayer } from './rollup-layer';

const T0 = Date.UTC(2026, 5, 1);
let influx: RunningInfluxDB;

before(async () => {
  influx = await startInfluxDB();
});
after(async () => {
  await influx.stop();
});

async function database(db: string) {
  /** every request the layers send, as measurement names per request */
  const sent: string[][] = [];
  const { run, send } = await createTestDatabase(influx.url, db, (points) => sent.push(points.map((p) => p.measurement)));
  const layer = () => new InfluxRollupLayer(run, send, { flushIntervalMs: 0 });
  /** the hour rows a recomputation from the raw points stored in influxd gives */
  const fromRaw = async () => {
    const raw = recordsOf(await run('SELECT * FROM "luminaire" GROUP BY "municipality", "gateway", "luminaire"')).map((o) =>
      pointFromRecord('luminaire', o),
    );
    return (rowsFromReadings('luminaire', raw) as LuminaireRow[]).map(toLuminaireHour);
  };
  return { run, send, sent, layer, fromRaw };
}

/** Minute `minute` of 4 luminaires of 2 gateways (energy grows 2 Wh a minute, luminaire L3 resets at minute 70). */
function minuteOf(minute: number): Point[] {
  return [0, 1, 2, 3].map((l) => ({
    measurement: 'luminaire',
    tags: { municipality: 'm', gateway: `g${l % 2}`, luminaire: `L${l}`, group: 'a' },
    fields: { activeEnergy: l === 3 && minute >= 70 ? minute - 70 : 1_000 * l + 2 * minute, operatingHours: minute / 60, status: 'ok' },
    ts: T0 + minute * 60_000,
  }));
}

const window = { from: T0 - HOUR_MS, to: T0 + 5 * HOUR_MS };

test('rows of many writes to the same series-hours go once, at the flush; raw requests carry raw points and marks only', async () => {
  const { sent, layer, fromRaw } = await database('coalesce');
  const l = layer();
  for (let minute = 0; minute < 30; minute++) await l.write(minuteOf(minute));
  const rawRequests = sent.filter((r) => r.includes('luminaire'));
  assert.equal(rawRequests.length, 30);
  assert.ok(
    rawRequests.every((r) => r.every((m) => m === 'luminaire' || m === PENDING_MEASUREMENT)),
    'no rollup row travels with raw points',
  );
  // Each series-hour is marked once per flush generation: 4 luminaires in one hour, all in the first write.
  assert.equal(rawRequests[0]!.filter((m) => m === PENDING_MEASUREMENT).length, 1);
  assert.ok(rawRequests.slice(1).every((r) => !r.includes(PENDING_MEASUREMENT)));
  const before = sent.length;
  await l.flush();
  const flushed = sent.slice(before);
  assert.deepEqual(flushed, [['luminaire_hour', 'luminaire_hour', 'luminaire_hour', 'luminaire_hour'], [FLUSHED_MEASUREMENT]]);
  await l.beforeRead();
  assert.deepEqual(await l.luminaireHours(window), await fromRaw());
  await l.close();
});

test('a writer that dies before its flush: the next open recomputes the marked series-hours from raw', async () => {
  const { run, sent, layer, fromRaw } = await database('crash');
  const first = layer();
  // Two hours, flushed once after the first 45 minutes: a late reading (minute 12, recomputed from
  // raw; a write that reads the store flushes what was dirty before it), then the rest of both hours
  // are never flushed.
  for (let minute = 0; minute < 50; minute += 5) await first.write(minuteOf(minute));
  await first.flush();
  await first.write([...minuteOf(12), ...minuteOf(47)]);
  for (let minute = 50; minute < 110; minute += 5) await first.write(minuteOf(minute));
  // The process dies here: no close, no flush. Its rows in influxd are behind the raw points.
  const stale = recordsOf(await run('SELECT * FROM "luminaire_hour"')).length;
  assert.equal(stale, 4, 'only the first hour of each luminaire was flushed');
  const afterCrash = sent.length;
  // A store that only reads (the dashboard's, beside ingest's) writes nothing, pending marks or not.
  const reader = layer();
  await reader.beforeRead();
  assert.equal((await reader.luminaireHours(window)).length, 4);
  assert.equal(sent.length, afterCrash, 'a reader repaired or flushed');

  // The next process: its open repairs at its first write (an empty one here: the store's settled()).
  const second = layer();
  await second.settled();
  assert.ok(second.repairedAtOpen >= 8, `marks of both hours of the 4 luminaires found, got ${second.repairedAtOpen}`);
  const repaired = await second.luminaireHours(window);
  assert.equal(repaired.length, 8);
  assert.deepEqual(repaired, await fromRaw());
  assert.ok(
    sent.slice(afterCrash).some((r) => r.includes(FLUSHED_MEASUREMENT)),
    'the repair ends with a watermark',
  );
  await second.close();

  // A third open finds nothing left to repair.
  const third = layer();
  await third.settled();
  assert.equal(third.repairedAtOpen, 0);
  assert.deepEqual(await third.luminaireHours(window), await fromRaw());
  await third.close();
});
