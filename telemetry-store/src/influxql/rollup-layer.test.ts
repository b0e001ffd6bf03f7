// The InfluxDB rollup layer overlaps the requests of successive writes: on a real influxd 1.6, a
// write's request is sent while the one before is still unanswered, and when that earlier request
// fails (after the later one was planned on top of it), the rollups are repaired to equal the raw
// points actually stored — and equal them again once the failed batch is written by a retry.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StoreWriteError } from '../errors';
import { toLineProtocol } from '../line-protocol';
import { rowsFromReadings } from '../rollups/reference';
import { HOUR_MS, type LuminaireRow, toLuminaireHour } from '../rollups/rows';
import { startInfluxDB, type RunningInfluxDB } from '../testing/influxd';
import type { Point } from '../types';
import { seriesOf } from './reads';
import { type InfluxPoint, InfluxRollupLayer } from './rollup-layer';

const T0 = Date.UTC(2026, 4, 1);
let influx: RunningInfluxDB;

before(async () => {
  influx = await startInfluxDB();
});
after(async () => {
  await influx.stop();
});

/** Batch b: each of 3 luminaires' reading at minute 10·b (energy grows by 5 Wh a reading). */
function batch(b: number): Point[] {
  return [0, 1, 2].map((l) => ({
    measurement: 'luminaire',
    tags: { municipality: 'm', gateway: 'g', luminaire: `L${l}`, group: 'a' },
    fields: { activeEnergy: 100 * l + 5 * b, operatingHours: b / 6, status: 'ok' },
    ts: T0 + b * 10 * 60_000,
  }));
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('successive writes overlap; a failed one is repaired out of the rollups and counts once retried', async () => {
  const db = 'overlap';
  // A CREATE DATABASE that failed shows here with influxd's answer, not as 'database not found' later.
  const created = await fetch(`${influx.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, { method: 'POST' });
  assert.equal(created.status, 200, `CREATE DATABASE: HTTP ${created.status} ${await created.clone().text()}`);
  seriesOf(await created.json());
  const run = async (q: string) => {
    const r = await fetch(`${influx.url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`);
    return seriesOf(await r.json());
  };
  const post = async (points: readonly InfluxPoint[]) => {
    const r = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: points.map(toLineProtocol).join('\n') });
    if (r.status !== 204) throw new StoreWriteError(`write: HTTP ${r.status}`, true, points.length);
  };
  // Fault injection on the wire: request 2 (batch 1) is held until request 3 (batch 2) has been
  // sent, then answered 503 without reaching influxd.
  let requests = 0;
  let overlapped = false;
  const thirdSent = deferred();
  const send = async (points: readonly InfluxPoint[]) => {
    const n = ++requests;
    if (n === 2) {
      await thirdSent.promise;
      overlapped = true;
      throw new StoreWriteError('write: HTTP 503 (injected)', true, points.length);
    }
    if (n === 3) thirdSent.resolve();
    await post(points);
  };
  const layer = new InfluxRollupLayer(run, send, { writesInFlight: 2, flushIntervalMs: 0 });
  const hours = async () => {
    // as the stores do before a read: the coalesced rows of every acknowledged reading are written
    await layer.beforeRead();
    return layer.luminaireHours({ from: T0 - HOUR_MS, to: T0 + 4 * HOUR_MS });
  };
  const expected = (points: Point[]) => (rowsFromReadings('luminaire', points) as LuminaireRow[]).map(toLuminaireHour);

  await layer.write(batch(0));
  // Batches 1 and 2 are written at once, as ingest does with two writes under way.
  const [first, second] = await Promise.allSettled([layer.write(batch(1)), layer.write(batch(2))]);
  assert.equal(overlapped, true, 'batch 2 was sent while batch 1 was unanswered');
  assert.equal(first.status, 'rejected');
  assert.equal(second.status, 'fulfilled');
  // Batch 2's rows counted batch 1's readings; the next write repairs them first. Batch 9 opens the next hour.
  await layer.write(batch(9));
  assert.deepEqual(await hours(), expected([...batch(0), ...batch(2), ...batch(9)]));
  // Ingest retries batch 1: late readings, recomputed from raw.
  await layer.write(batch(1));
  assert.deepEqual(await hours(), expected([0, 1, 2, 9].flatMap(batch)));
  assert.ok(requests >= 5);
});
