import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VerifyResult } from '../credentials/store';
import { checkClientId } from './client-id';
import { ConnectionLimits, connectionCapUnderFdLimit, fileDescriptorSoftLimit } from './connection-limits';
import { defaultConcurrentChecks, parseGuardConfig } from './guard-config';
import { LoginGuard } from './login-guard';
import { MqttFrameScanner } from '@poste/protocol/mqtt-guard';
import { RetainedQuota } from './publish-limits';
import { TokenBucket } from './token-bucket';

describe('MqttFrameScanner', () => {
  test('follows packets split across chunks and refuses an oversized announce at its length bytes', () => {
    const s = new MqttFrameScanner({ limit: () => 100 });
    assert.equal(s.feed(Buffer.from([0x30, 5, 1, 2])), undefined);
    assert.equal(s.feed(Buffer.from([3, 4, 5, 0xc0, 0])), undefined); // rest of the body, then a PINGREQ
    assert.deepEqual(s.feed(Buffer.from([0x10, 0x80])), undefined); // 0 so far, continuation
    assert.deepEqual(s.feed(Buffer.from([0x80, 0x77])), { reason: 'packet-too-large', announced: 0x77 * 128 * 128, limit: 100 });
  });
  test('a 5-byte remaining length is malformed', () => {
    const s = new MqttFrameScanner({ limit: () => Number.MAX_SAFE_INTEGER });
    assert.deepEqual(s.feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80])), { reason: 'malformed-length' });
  });
});

describe('connection limits', () => {
  test('per address, total and unauthenticated caps; release frees them', () => {
    const l = new ConnectionLimits({ maxConnections: 3, maxPerAddress: 2, maxUnauthenticated: 2 });
    const a = l.admit('a');
    const b = l.admit('a');
    assert.ok(a.ok && b.ok);
    assert.deepEqual(l.admit('a'), { ok: false, reason: 'max-per-address' });
    assert.deepEqual(l.admit('b'), { ok: false, reason: 'max-unauthenticated' });
    a.authenticated();
    const c = l.admit('b');
    assert.ok(c.ok);
    assert.deepEqual(l.admit('c'), { ok: false, reason: 'max-connections' });
    b.release();
    b.release();
    assert.equal(l.total, 2);
  });
  test('authenticated connections leave the per-address count: many gateways behind one NAT address', () => {
    const l = new ConnectionLimits({ maxConnections: 300, maxPerAddress: 2, maxUnauthenticated: 10 });
    for (let i = 0; i < 200; i++) {
      const a = l.admit('10.0.0.1');
      assert.ok(a.ok, `connection ${i}`);
      a.authenticated();
    }
    const x = l.admit('10.0.0.1');
    const y = l.admit('10.0.0.1');
    assert.ok(x.ok && y.ok);
    assert.deepEqual(l.admit('10.0.0.1'), { ok: false, reason: 'max-per-address' }, 'unauthenticated ones are still capped');
    x.release();
    assert.ok(l.admit('10.0.0.1').ok);
    assert.equal(l.total, 202);
  });
  test('the open-files limit is read from /proc text and leaves a reserve', () => {
    assert.equal(fileDescriptorSoftLimit('Max open files            20000                20000                files\n'), 20000);
    assert.equal(fileDescriptorSoftLimit('Max open files            unlimited            unlimited            files\n'), undefined);
    assert.equal(connectionCapUnderFdLimit(10_000, 1024, 256), 768);
    assert.equal(connectionCapUnderFdLimit(10_000, 20_000, 256), 10_000);
    assert.equal(connectionCapUnderFdLimit(10_000, undefined, 256), 10_000);
  });
});

describe('LoginGuard', () => {
  const ok: VerifyResult = { ok: true, principal: { role: 'gateway', id: 'gw-1', municipality: 'm' } };
  const cfg = parseGuardConfig({
    login: { maxConcurrentChecks: 1, maxQueuedChecks: 1, backoffAfterFailures: 2, backoffBaseMs: 1000 },
  }).login;

  test('a success is cached (no second check); a change of password misses the cache', async () => {
    let checks = 0;
    const g = new LoginGuard(async (_u, p) => {
      checks++;
      return p?.toString() === 'right' ? ok : { ok: false, reason: 'bad-password' };
    }, cfg);
    assert.equal((await g.login('gw-1', Buffer.from('right'), 'a', () => false)).ok, true);
    assert.deepEqual(await g.login('gw-1', Buffer.from('right'), 'b', () => false), { ...ok, cached: true });
    assert.equal(checks, 1);
    assert.equal((await g.login('gw-1', Buffer.from('wrong'), 'b', () => false)).ok, false);
    assert.equal(checks, 2);
    g.clearCache();
    await g.login('gw-1', Buffer.from('right'), 'c', () => false);
    assert.equal(checks, 3);
  });

  test('failures from one address lead to back-off, exponentially longer', async () => {
    let t = 0;
    const g = new LoginGuard(
      async () => ({ ok: false, reason: 'bad-password' }),
      cfg,
      () => t,
    );
    const reason = async () => {
      const r = await g.login('gw-1', Buffer.from('x'), 'a', () => false);
      return r.ok ? 'ok' : r.reason;
    };
    assert.equal(await reason(), 'bad-password');
    assert.equal(await reason(), 'bad-password'); // 2nd failure: blocked for 1 s
    assert.equal(await reason(), 'login-backoff');
    t = 1_001;
    assert.equal(await reason(), 'bad-password'); // 3rd: blocked for 2 s
    t = 2_500;
    assert.equal(await reason(), 'login-backoff');
  });

  test('valid logins do not use up an address: 200 gateways behind one address all pass, failures still do', async () => {
    const g = new LoginGuard(
      async (u, p) =>
        p?.toString() === 'right'
          ? { ok: true, principal: { role: 'gateway', id: u!, municipality: 'm' } }
          : { ok: false, reason: 'bad-password' },
      {
        ...cfg,
        maxQueuedChecks: 100,
        perAddressBurst: 20,
        perAddressPerSecond: 0.001,
        backoffAfterFailures: 1_000,
      },
    );
    // In waves of 20 (the burst): each success gives its token back.
    let ok = 0;
    for (let wave = 0; wave < 10; wave++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => g.login(`gw-${wave * 20 + i}`, Buffer.from('right'), 'nat', () => false)),
      );
      ok += results.filter((r) => r.ok && !('cached' in r)).length;
    }
    assert.equal(ok, 200);
    // Failures keep their tokens: the 21st failure in a row is refused without a check.
    const failures = [];
    for (let i = 0; i < 21; i++) failures.push(await g.login(`gw-x${i}`, Buffer.from('wrong'), 'nat', () => false));
    assert.deepEqual(failures.at(-1), { ok: false, reason: 'login-rate-limited' });
    assert.equal(failures.filter((r) => !r.ok && r.reason === 'bad-password').length, 20);
  });

  test('remembered successes can be exported and taken back (a restart), within this TTL; the digest decides', async () => {
    let t = 1_000;
    let checks = 0;
    const digest = (u: string, p: Buffer) => (u === 'stranger' ? undefined : Buffer.from(`${u}:${p.toString()}`.padEnd(32, '.')));
    const verify = async (u: string | undefined): Promise<VerifyResult> => {
      checks++;
      return { ok: true, principal: { role: 'gateway', id: u!, municipality: 'm' } };
    };
    let changes = 0;
    const a = new LoginGuard(verify, cfg, () => t, { digest, onChange: () => changes++ });
    await a.login('gw-1', Buffer.from('pw'), 'x', () => false);
    await a.login('stranger', Buffer.from('pw'), 'x', () => false);
    assert.equal(changes, 1, 'only the cacheable success changed the cache');
    const saved = a.remembered();
    assert.equal(saved.length, 1);
    const b = new LoginGuard(verify, cfg, () => t, { digest });
    assert.equal(b.remember([...saved, { ...saved[0]!, username: 'gw-old', expires: t - 1 }]), 1);
    checks = 0;
    assert.deepEqual(await b.login('gw-1', Buffer.from('pw'), 'y', () => false), {
      ok: true,
      principal: saved[0]!.principal,
      cached: true,
    });
    assert.equal(checks, 0);
    assert.equal((await b.login('gw-1', Buffer.from('other'), 'y', () => false)).ok, true);
    assert.equal(checks, 1, 'another password is checked');
    t += cfg.cacheTtlMs + 1;
    assert.equal(b.remembered().length, 0, 'expired');
  });

  test('checks beyond the running + queued bound are refused at once; abandoned ones are skipped', async () => {
    let release!: () => void;
    let checks = 0;
    const g = new LoginGuard(() => {
      checks++;
      return new Promise<VerifyResult>((r) => {
        release = () => r(ok);
      });
    }, cfg);
    const first = g.login('gw-1', Buffer.from('1'), 'a', () => false);
    const queued = g.login('gw-1', Buffer.from('2'), 'b', () => true);
    assert.deepEqual(await g.login('gw-1', Buffer.from('3'), 'c', () => false), { ok: false, reason: 'login-busy' });
    release();
    assert.equal((await first).ok, true);
    assert.deepEqual(await queued, { ok: false, reason: 'login-abandoned' });
    assert.equal(checks, 1);
  });
});

test('token bucket: burst then rate', () => {
  let t = 0;
  const b = new TokenBucket(10, 5, () => t);
  for (let i = 0; i < 5; i++) assert.ok(b.take());
  assert.ok(!b.take());
  t = 100;
  assert.ok(b.take());
  assert.ok(!b.take());
});

test('retained quota: count and bytes per gateway; an empty payload frees', () => {
  const q = new RetainedQuota({ maxMessages: 2, maxBytes: 10 });
  assert.equal(q.take('g', 'a', 4), undefined);
  assert.equal(q.take('g', 'a', 6), undefined); // replaces
  assert.equal(q.take('g', 'b', 5), 'bytes');
  assert.equal(q.take('g', 'b', 4), undefined);
  assert.equal(q.take('g', 'c', 1), 'messages');
  assert.equal(q.take('other', 'c', 1), undefined);
  assert.equal(q.take('g', 'a', 0), undefined);
  assert.deepEqual(q.usage('g'), { messages: 1, bytes: 4 });
});

test('client ids: a gateway only its id; a service its prefix or assigned, never a gateway id or a live id of another', () => {
  const gw = { role: 'gateway', id: 'gw-1', municipality: 'm' } as const;
  const svc = { role: 'service', username: 'ops' } as const;
  const ctx = { assigned: false, isGatewayId: (id: string) => id.startsWith('gw-'), holder: undefined };
  assert.equal(checkClientId(gw, 'gw-1', ctx), undefined);
  assert.equal(checkClientId(gw, 'gw-2', ctx), 'client-id-mismatch');
  assert.equal(checkClientId(svc, 'ops-1', ctx), undefined);
  assert.equal(checkClientId(svc, 'gw-1', ctx), 'client-id-not-owned');
  assert.equal(checkClientId(svc, 'aedes_x', { ...ctx, assigned: true }), undefined);
  assert.equal(checkClientId(svc, 'ops-1', { ...ctx, holder: { role: 'service', username: 'ops-1' } }), 'client-id-in-use');
});

test('guard options: defaults, and a bad value names its path', () => {
  assert.equal(parseGuardConfig(undefined).frames.preAuthBytes, 8192);
  assert.equal(defaultConcurrentChecks(2), 1);
  assert.equal(defaultConcurrentChecks(64), 4);
  assert.throws(() => parseGuardConfig({ connections: { maxPerAddress: 0 } }), /connections\.maxPerAddress/);
});
