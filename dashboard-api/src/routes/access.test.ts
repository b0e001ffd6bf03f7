import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, topic } from '@poste/protocol';
import { startTestApi } from '../test-support/app';
import { NOW } from '../test-support/fixtures';

describe('API access: tokens and roles', () => {
  it('without public reads, every figure needs a token; the page, /healthz and /openapi.json do not', async () => {
    const t = await startTestApi({ publicReads: false });
    try {
      const anon = await t.api.app.inject({ url: '/api/v1/energy' });
      assert.equal(anon.statusCode, 401);
      assert.equal(anon.headers['www-authenticate'], 'Bearer realm="poste"');
      assert.deepEqual(anon.json(), { error: 'unauthorized', message: 'GET /api/v1/energy needs a token (Authorization: Bearer TOKEN)' });
      for (const url of ['/api/v1/fleet', '/api/v1/municipalities', '/metrics', '/api/v1/whoami', '/api/v1/tokens']) {
        assert.equal((await t.api.app.inject({ url })).statusCode, 401, url);
      }
      for (const url of ['/', '/healthz', '/openapi.json']) assert.equal((await t.api.app.inject({ url })).statusCode, 200, url);
      const viewer = await t.auth('viewer');
      assert.equal((await t.api.app.inject({ url: '/api/v1/energy', headers: viewer })).statusCode, 200);
      const who = await t.api.app.inject({ url: '/api/v1/whoami', headers: viewer });
      assert.equal(who.json().role, 'viewer');
      const malformed = await t.api.app.inject({ url: '/api/v1/energy', headers: { authorization: 'Basic dXNlcjpwdw==' } });
      assert.equal(malformed.statusCode, 401);
      assert.match(malformed.json().message, /Bearer TOKEN/);
      const unknown = await t.api.app.inject({ url: '/api/v1/energy', headers: { authorization: 'Bearer pst_notatokenatall' } });
      assert.deepEqual(unknown.json(), { error: 'unauthorized', message: 'unknown or revoked token' });
    } finally {
      await t.api.close();
    }
  });

  it('public reads open aggregates only: nothing that changes state or lists tokens', async () => {
    const t = await startTestApi({ publicReads: true });
    try {
      assert.equal((await t.api.app.inject({ url: '/api/v1/energy' })).statusCode, 200);
      assert.equal((await t.api.app.inject({ url: '/api/v1/fleet' })).statusCode, 200);
      assert.equal((await t.api.app.inject({ url: '/api/v1/stream' })).statusCode, 401);
      assert.equal(
        (await t.api.app.inject({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'x', role: 'admin' } })).statusCode,
        401,
      );
    } finally {
      await t.api.close();
    }
  });

  it('tokens are managed by admins only; a revoked token is refused at once', async () => {
    const t = await startTestApi();
    try {
      const operator = await t.auth('operator');
      const denied = await t.api.app.inject({ url: '/api/v1/tokens', headers: operator });
      assert.equal(denied.statusCode, 403);
      assert.match(denied.json().message, /needs role admin or above; token "test operator" has operator/);
      const admin = await t.auth('admin');
      const bad = await t.api.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'x', role: 'king' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().issues[0].path, 'body.role');
      const made = await t.api.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: admin,
        payload: { name: 'painel', role: 'viewer' },
      });
      assert.equal(made.statusCode, 201);
      const { token, info } = made.json() as { token: string; info: { id: string } };
      const headers = { authorization: `Bearer ${token}` };
      assert.equal((await t.api.app.inject({ url: '/api/v1/whoami', headers })).statusCode, 200);
      const list = await t.api.app.inject({ url: '/api/v1/tokens?limit=2', headers: admin });
      assert.equal(list.json().total, 3);
      assert.equal(list.json().items.length, 2);
      assert.equal(list.json().nextCursor, '2');
      assert.ok(!list.body.includes('sha256'), 'hashes never leave the server');
      const page2 = await t.api.app.inject({ url: '/api/v1/tokens?limit=2&cursor=2', headers: admin });
      assert.equal(page2.json().items.length, 1);
      assert.equal(page2.json().nextCursor, undefined);
      assert.equal((await t.api.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${info.id}`, headers: admin })).statusCode, 200);
      assert.equal((await t.api.app.inject({ url: '/api/v1/whoami', headers })).statusCode, 401);
      assert.equal((await t.api.app.inject({ method: 'DELETE', url: '/api/v1/tokens/ffffffffffff', headers: admin })).statusCode, 404);
    } finally {
      await t.api.close();
    }
  });

  it('/openapi.json documents every operation with its security and a 401/403', async () => {
    const t = await startTestApi();
    try {
      const doc = (await t.api.app.inject({ url: '/openapi.json' })).json() as {
        components: { securitySchemes: Record<string, unknown> };
        paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown>; 'x-poste-role'?: string }>>;
      };
      assert.ok(doc.components.securitySchemes.bearer);
      assert.deepEqual(doc.paths['/api/v1/energy']!.get!.security, [{}, { bearer: [] }]);
      assert.deepEqual(doc.paths['/healthz']!.get!.security, []);
      assert.equal(doc.paths['/api/v1/tokens/{id}']!.delete!['x-poste-role'], 'admin');
      assert.ok(doc.paths['/api/v1/tokens/{id}']!.delete!.responses['403']);
    } finally {
      await t.api.close();
    }
  });
});

describe('GET /api/v1/stream (server-sent events)', () => {
  it('streams fleet changes (coalesced) and replays from Last-Event-ID', async () => {
    const t = await startTestApi();
    const url = await t.api.listen({ port: 0, host: '127.0.0.1' });
    try {
      const viewer = await t.auth('viewer');
      const ctrl = new AbortController();
      const res = await fetch(`${url}/api/v1/stream`, { headers: viewer, signal: ctrl.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = res.body!.getReader();
      let text = '';
      const readUntil = async (re: RegExp) => {
        while (!re.test(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended before ${re}: ${text}`);
          text += new TextDecoder().decode(value);
        }
      };
      await readUntil(/: connected/);
      t.fleet.ingest(topic('gatewayState', { gateway: 'gw-b' }), encode({ v: 1, status: 'online', seq: 1, ts: NOW }));
      t.fleet.ingest(
        topic('deviceState', { gateway: 'gw-b', device: 'lum-b1' }),
        encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: NOW }),
      );
      await readUntil(/event: fleet\ndata: .*\n\n/);
      const data = JSON.parse(/event: fleet\ndata: (.*)\n/.exec(text)![1]!);
      assert.equal(data.changes, 2, 'two changes, one event');
      assert.deepEqual(data.snapshot.luminaires, { online: 1, offline: 0 });
      const id = Number(/id: (\d+)\nevent: fleet/.exec(text)![1]);
      t.api.hub.publish('fault', { id: 'f1', type: 'lampFailure' });
      await readUntil(/event: fault/);
      ctrl.abort();

      const ctrl2 = new AbortController();
      const again = await fetch(`${url}/api/v1/stream`, { headers: { ...viewer, 'last-event-id': String(id) }, signal: ctrl2.signal });
      const r2 = again.body!.getReader();
      let text2 = '';
      while (!/event: fault/.test(text2)) text2 += new TextDecoder().decode((await r2.read()).value);
      assert.ok(!/event: fleet/.test(text2), 'only events after Last-Event-ID are replayed');
      ctrl2.abort();
    } finally {
      await t.api.close();
    }
  });
});
