import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { listenPlainHttp, MAX_HEAD_BYTES, parseRequestHead, type PlainHttpServer } from './metrics-http';

/** Sends raw bytes, returns everything the server wrote before it closed. */
function raw(port: number, bytes: string | Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.on('connect', () => {
      if (typeof bytes === 'string') s.write(bytes);
      else for (const b of bytes) s.write(b);
    });
  });
}

describe('plain HTTP for /metrics', () => {
  let srv: PlainHttpServer;
  let port: number;
  let failNext = false;
  before(async () => {
    srv = await listenPlainHttp('127.0.0.1', 0, (method, path) => {
      if (method !== 'GET' || path !== '/metrics') return { status: 404, contentType: 'text/plain', body: 'not found: GET /metrics\n' };
      if (failNext) {
        failNext = false;
        throw new Error('render failed');
      }
      return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'poste_up 1\nnote "é"\n' };
    });
    const addr = srv.server.address();
    port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  });
  after(() => srv.close());

  it('answers fetch (undici, keep-alive asked) with the body, its type and byte length', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/metrics?x=1`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.headers.get('content-length'), String(Buffer.byteLength('poste_up 1\nnote "é"\n')));
    assert.equal(await r.text(), 'poste_up 1\nnote "é"\n');
  });

  it('404 for another path or method, 500 when the handler throws', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', body: 'x' })).status, 404);
    failNext = true;
    const failed = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(failed.status, 500);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
  });

  it('HEAD: the head only; a head split over several writes; HTTP/1.0', async () => {
    const head = await raw(port, 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength('poste_up 1\nnote "é"\n')}\r\n`));
    assert.ok(head.endsWith('\r\n\r\n'), head);
    const split = await raw(port, [Buffer.from('GET /met'), Buffer.from('rics HTTP/1.0\r\n'), Buffer.from('\r\n')]);
    assert.match(split, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nposte_up 1\n/);
  });

  it('400 for what is not an HTTP/1.x request line; 431 for a head over the bound', async () => {
    assert.match(await raw(port, 'HELLO\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(port, 'GET /metrics HTTP/2.0\r\n\r\n'), /^HTTP\/1\.1 400 /);
    const big = `GET /metrics HTTP/1.1\r\nX-Pad: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n`;
    assert.match(await raw(port, big), /^HTTP\/1\.1 431 /);
  });

  it('close() ends a connection that never sent its head', async () => {
    const other = await listenPlainHttp('127.0.0.1', 0, () => ({ status: 200, contentType: 'text/plain', body: '' }));
    const addr = other.server.address();
    const s = connect(typeof addr === 'object' && addr !== null ? addr.port : 0, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.on('error', () => undefined); // the server's end may arrive as a reset
    const closed = new Promise((r) => s.once('close', r));
    s.write('GET /metrics HTTP/1.1\r\n');
    await other.close();
    await closed;
  });
});

describe('parseRequestHead', () => {
  it('method and path without the query; null for anything else', () => {
    assert.deepEqual(parseRequestHead('GET /metrics?a=b HTTP/1.1\r\nHost: x'), { method: 'GET', path: '/metrics' });
    assert.deepEqual(parseRequestHead('GET /metrics HTTP/1.0'), { method: 'GET', path: '/metrics' });
    assert.equal(parseRequestHead('get /metrics HTTP/1.1'), null);
    assert.equal(parseRequestHead('GET  /metrics HTTP/1.1'), null);
    assert.equal(parseRequestHead('GET /metrics'), null);
  });
});
