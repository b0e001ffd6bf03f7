// The classification of InfluxDB write failures, fed with the error objects the two client
// libraries really throw: a loopback HTTP server answers with scripted statuses and bodies (the
// bodies as influxd 1.x and 2.x word them), and a closed port gives a real ECONNREFUSED.
// The partial write on a real influxd is in the store contract (influxdb1.test.ts, influxdb2.test.ts).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { InfluxDB as InfluxDB2Client } from '@influxdata/influxdb-client';
import { InfluxDB as InfluxDB1Client } from 'influx';
import { PartialWriteError, type StoreWriteError } from './errors';
import { droppedCount, statusOf, toStoreWriteError } from './influx-errors';
import { freePort } from './testing/ports';

const PARTIAL_1X =
  '{"error":"partial write: field type conflict: input field \\"e\\" on measurement \\"luminaire\\" is type string, already exists as type float dropped=1"}';
const PARTIAL_2X =
  '{"code":"unprocessable entity","message":"failure writing points to database: partial write: points beyond retention policy dropped=2"}';

describe('InfluxDB write errors, as the client libraries throw them', () => {
  let server: Server;
  let url = '';
  let answer: { status: number; body: string } = { status: 204, body: '' };
  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.status === 204 ? undefined : answer.body),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    url = `http://127.0.0.1:${addr.port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  /** What `influx` (1.x) throws writing `n` points, classified. */
  async function v1(n: number, target = url): Promise<StoreWriteError> {
    const u = new URL(target);
    const client = new InfluxDB1Client({ host: u.hostname, port: Number(u.port), database: 'poste' });
    const points = Array.from({ length: n }, (_, i) => ({ measurement: 'luminaire', tags: { a: 'x' }, fields: { e: i }, timestamp: i }));
    try {
      await client.writePoints(points, { precision: 'ms' });
    } catch (err) {
      return toStoreWriteError('influxdb1 write', err, statusOf(err), n);
    }
    throw new Error('expected the write to fail');
  }

  /** What @influxdata/influxdb-client (2.x) throws writing `n` lines, classified. */
  async function v2(n: number, target = url): Promise<StoreWriteError> {
    const api = new InfluxDB2Client({ url: target, token: 't' }).getWriteApi('o', 'b', 'ms', {
      batchSize: n + 1,
      flushInterval: 0,
      maxRetries: 0,
      writeFailed: (error: Error) => Promise.reject(error),
    });
    api.writeRecords(Array.from({ length: n }, (_, i) => `luminaire,a=x e=${i} ${i}`));
    try {
      await api.flush();
    } catch (err) {
      return toStoreWriteError('influxdb2 write', err, statusOf(err), n);
    } finally {
      await api.close().catch(() => undefined);
    }
    throw new Error('expected the write to fail');
  }

  for (const [name, write] of [
    ['influxdb1', v1],
    ['influxdb2', v2],
  ] as const) {
    test(`${name}: 400 "partial write … dropped=N" is a PartialWriteError with written = sent − N`, async () => {
      answer = { status: 400, body: PARTIAL_1X };
      const err = await write(5);
      assert.ok(err instanceof PartialWriteError, err.message);
      assert.deepEqual([err.retryable, err.written, err.refused, err.refusedIndices], [false, 4, 1, undefined]);
      answer = { status: 422, body: PARTIAL_2X };
      const err2 = await write(5);
      assert.ok(err2 instanceof PartialWriteError, err2.message);
      assert.deepEqual([err2.written, err2.refused], [3, 2]);
    });

    test(`${name}: any other 400 and 413 are permanent for the batch`, async () => {
      for (const [status, body] of [
        [400, '{"error":"unable to parse \'luminaire,a=x e= 1\': missing field value"}'],
        [413, '{"error":"Request Entity Too Large"}'],
      ] as const) {
        answer = { status, body };
        const err = await write(3);
        assert.equal(err instanceof PartialWriteError, false);
        assert.equal(err.retryable, false, err.message);
      }
    });

    test(`${name}: 5xx, 429, 408 and 401/403/404 (the points are fine) are retryable`, async () => {
      for (const [status, body] of [
        [500, '{"error":"engine: cache-max-memory-size exceeded"}'],
        [503, '{"error":"service unavailable"}'],
        [429, '{"code":"too many requests"}'],
        [408, '{"error":"timeout"}'],
        [401, '{"error":"authorization failed"}'],
        [404, '{"error":"database not found: \\"poste\\""}'],
      ] as const) {
        answer = { status, body };
        const err = await write(2);
        assert.equal(err.retryable, true, `${status}: ${err.message}`);
      }
    });

    test(`${name}: connection refused is retryable`, async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const err = await write(2, closed);
      assert.equal(err.retryable, true, err.message);
      assert.match(err.message, /ECONNREFUSED/);
    });
  }

  test('droppedCount reads only partial-write messages', () => {
    assert.equal(droppedCount(PARTIAL_1X), 1);
    assert.equal(droppedCount('{"error":"dropped=3 points for another reason"}'), undefined);
    assert.equal(droppedCount('partial write: no count'), undefined);
  });
});
