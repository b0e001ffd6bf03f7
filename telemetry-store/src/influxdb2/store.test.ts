// No InfluxDB 2.x/3.x server can be installed on these machines, so what a real 2.x would check is
// checked here at the HTTP level against a local recording endpoint (node:http on loopback): path,
// query parameters, Authorization header (token or tokenFile), line-protocol body and the retry
// behaviour on 503/429. The contract suite runs in influxdb2.test.ts (influxd 1.6 behind a bridge).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Point } from '../types';
import { StoreWriteError } from '../errors';
import { InfluxDB2StoreConfigSchema } from './config';
import { InfluxDB2Store } from './store';

interface Recorded {
  method: string;
  path: string;
  params: URLSearchParams;
  authorization: string | undefined;
  body: string;
}

const point: Point = {
  measurement: 'luminaire',
  tags: { municipality: 'belem', gateway: 'gw 1', luminaire: 'L,1', group: 'ungrouped' },
  fields: { activeEnergy: 1200, status: 'lamp "ok"', dimLevel: 80.5 },
  ts: 1_736_899_200_000,
};

describe('influxdb2 writer against a recording HTTP endpoint', () => {
  let server: Server;
  let url = '';
  const requests: Recorded[] = [];
  /** statuses to answer, in order; 204 once exhausted */
  let script: number[] = [];
  let queryResponse: unknown = { results: [{ statement_id: 0 }] };

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        requests.push({
          method: req.method ?? '',
          path: u.pathname,
          params: u.searchParams,
          authorization: req.headers.authorization,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        if (u.pathname === '/query') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(queryResponse));
          return;
        }
        const status = script.shift() ?? 204;
        const headers: Record<string, string> = status === 429 ? { 'retry-after': '0' } : {};
        res.writeHead(status, { ...headers, 'content-type': 'application/json' });
        res.end(status >= 400 ? JSON.stringify({ code: 'unavailable', message: `status ${status}` }) : undefined);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    url = `http://127.0.0.1:${addr.port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    requests.length = 0;
    script = [];
  });

  const store = () =>
    new InfluxDB2Store(
      InfluxDB2StoreConfigSchema.parse({
        kind: 'influxdb2',
        url,
        token: 's3cr3t',
        org: 'poste',
        bucket: 'telemetry',
        retryInitialDelayMs: 5,
      }),
    );

  // Before its first write a store reads the latest rollup row of each series and the field types
  // (/query); these tests are about the writes.
  const writes = () => requests.filter((r) => r.path === '/api/v2/write');

  test('POST /api/v2/write with org, bucket, precision=ms, Token auth and a line-protocol body', async () => {
    const s = store();
    await s.write([point]);
    assert.equal(writes().length, 1);
    const r = writes()[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/api/v2/write');
    assert.equal(r.params.get('org'), 'poste');
    assert.equal(r.params.get('bucket'), 'telemetry');
    assert.equal(r.params.get('precision'), 'ms');
    assert.equal(r.authorization, 'Token s3cr3t');
    const [raw, mark, ...more] = r.body.trim().split('\n');
    // tags sorted, fields in the point's own order (../influxql/line-writer.ts)
    assert.equal(
      raw,
      'luminaire,gateway=gw\\ 1,group=ungrouped,luminaire=L\\,1,municipality=belem activeEnergy=1200,status="lamp \\"ok\\"",dimLevel=80.5 1736899200000',
    );
    // the durable mark of the series-hour whose rollup row is not written yet, in the same request
    assert.match(
      mark ?? '',
      /^rollup_pending series="\[\[\\"luminaire\\",\[\\"belem\\",\\"gw 1\\"\],1736899200000,\[\\"L,1\\"\]\]\]" \d+$/,
    );
    assert.deepEqual(more, []);
    // the hourly rollup point of the hour the reading changed, coalesced: written by the next flush
    // (here the close), then the watermark saying the marks up to then are done
    await s.close();
    const [rows, watermark] = writes()
      .slice(1)
      .map((w) => w.body.trim());
    assert.match(rows ?? '', /^luminaire_hour,gateway=gw\\ 1,luminaire=L\\,1,municipality=belem .*readings=1.* 1736899200000$/);
    assert.match(watermark ?? '', /^rollup_flushed marks_upto=(\d+) \1$/);
  });

  test('retries on 503 and 429 with backoff, then succeeds with the same body', async () => {
    script = [503, 429];
    await store().write([point]);
    assert.equal(writes().length, 3);
    assert.equal(new Set(writes().map((r) => r.body)).size, 1);
  });

  test('gives up after the configured attempts with a retryable StoreWriteError', async () => {
    script = [503, 503, 503, 503, 503];
    await assert.rejects(store().write([point]), (err: unknown) => err instanceof StoreWriteError && err.retryable);
    assert.equal(writes().length, 5);
  });

  test('a 400 (bad point, type conflict) is not retried and is not retryable', async () => {
    script = [400];
    await assert.rejects(store().write([point]), (err: unknown) => err instanceof StoreWriteError && !err.retryable);
    assert.equal(writes().length, 1);
  });

  test('reads go to the v1-compatible /query with the token, db = bucket by default, epoch=ms', async () => {
    queryResponse = {
      results: [{ statement_id: 0, series: [{ name: 'luminaire', columns: ['time', 'count_activeEnergy'], values: [[0, 7]] }] }],
    };
    assert.equal(await store().countPoints('luminaire', 0, 1000), 7);
    const r = requests[0]!;
    assert.equal(r.path, '/query');
    assert.equal(r.authorization, 'Token s3cr3t');
    const form = new URLSearchParams(r.body);
    assert.equal(form.get('db'), 'telemetry');
    assert.equal(form.get('epoch'), 'ms');
    assert.match(form.get('q') ?? '', /^SELECT count\(\*\) FROM "luminaire" WHERE time >= 0ms AND time < 1000ms$/);
  });
  test('tokenFile: the first line of the file is the token, read when the store is opened', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-influxdb2-token-'));
    try {
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, '  from-file  \nignored second line\n');
      const s = new InfluxDB2Store(
        InfluxDB2StoreConfigSchema.parse({ kind: 'influxdb2', url, tokenFile, org: 'poste', bucket: 'telemetry' }),
      );
      await s.init();
      await s.write([point]);
      await s.countPoints('luminaire', 0, 1000);
      assert.ok(requests.length >= 2);
      assert.deepEqual(new Set(requests.map((r) => r.authorization)), new Set(['Token from-file']));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('tokenFile missing or empty: init() fails naming the file; write() fails not retryable, sending nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-influxdb2-token-'));
    try {
      const missing = join(dir, 'absent');
      const open = (tokenFile: string) =>
        new InfluxDB2Store(InfluxDB2StoreConfigSchema.parse({ kind: 'influxdb2', url, tokenFile, org: 'poste', bucket: 'telemetry' }));
      await assert.rejects(open(missing).init(), new RegExp(`tokenFile ${missing}: .*ENOENT`));
      const empty = join(dir, 'empty');
      await writeFile(empty, '\n');
      await assert.rejects(open(empty).init(), /the first line is empty/);
      await assert.rejects(open(missing).write([point]), (err: unknown) => err instanceof StoreWriteError && !err.retryable);
      assert.equal(requests.length, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
