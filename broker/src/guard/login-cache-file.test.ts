import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { CredentialsStore } from '../credentials/store';
import { hashPassword } from '../credentials/password-hash';
import { parseGuardConfig } from './guard-config';
import { credentialCacheDigest, LOGIN_CACHE_FILE, LoginCacheFile } from './login-cache-file';
import { LoginGuard } from './login-guard';

const logger = pino({ level: 'silent' });
const cfg = parseGuardConfig({}).login;

async function storeWith(passwordHash: string): Promise<CredentialsStore> {
  return new CredentialsStore({
    version: 2,
    gateways: [{ id: 'gw-1', municipality: 'm', passwordHash }],
    services: [{ username: 'ops', role: 'service', passwordHash: await hashPassword('ops-pw') }],
  });
}

describe('login cache file', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('gateway logins survive a restart (no scrypt); a password rotated meanwhile misses; services are not kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-login-cache-'));
    dirs.push(dir);
    let store = await storeWith(await hashPassword('gw-pw'));
    let checks = 0;
    const verify = (u: string | undefined, p: Buffer | undefined) => {
      checks++;
      return store.verify(u, p);
    };
    const file1 = new LoginCacheFile({ dir, logger, saveDelayMs: 10 });
    const g1 = new LoginGuard(verify, cfg, Date.now, { digest: credentialCacheDigest(() => store), onChange: () => file1.changed() });
    await file1.attach(g1);
    assert.equal((await g1.login('gw-1', Buffer.from('gw-pw'), 'a', () => false)).ok, true);
    assert.equal((await g1.login('ops', Buffer.from('ops-pw'), 'a', () => false)).ok, true);
    await file1.close();
    assert.equal((await stat(join(dir, LOGIN_CACHE_FILE))).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(join(dir, LOGIN_CACHE_FILE), 'utf8')) as { entries: { username: string; digest: string }[] };
    assert.deepEqual(
      saved.entries.map((e) => e.username),
      ['gw-1'],
    );
    assert.ok(!JSON.stringify(saved).includes('gw-pw'));

    // "Restart": a new guard loads the file and answers without a check.
    checks = 0;
    const file2 = new LoginCacheFile({ dir, logger });
    const g2 = new LoginGuard(verify, cfg, Date.now, { digest: credentialCacheDigest(() => store) });
    assert.equal(await file2.attach(g2), 1);
    assert.equal((await g2.login('gw-1', Buffer.from('gw-pw'), 'a', () => false)).ok, true);
    assert.equal(checks, 0);

    // Rotated while the broker was down: the old password is checked (and refused), not cached.
    store = await storeWith(await hashPassword('new-pw'));
    const g3 = new LoginGuard(verify, cfg, Date.now, { digest: credentialCacheDigest(() => store) });
    await new LoginCacheFile({ dir, logger }).attach(g3);
    assert.deepEqual(await g3.login('gw-1', Buffer.from('gw-pw'), 'a', () => false), { ok: false, reason: 'bad-password' });
    assert.equal(checks, 1);
  });

  test('a damaged file is ignored (cold start), never fatal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-login-cache-'));
    dirs.push(dir);
    await writeFile(join(dir, LOGIN_CACHE_FILE), '{"v":1,"entries":[{"username":"gw-1","digest":"zz"}]}');
    assert.deepEqual(await new LoginCacheFile({ dir, logger }).load(), []);
    await writeFile(join(dir, LOGIN_CACHE_FILE), '{"v":1,"entr');
    assert.deepEqual(await new LoginCacheFile({ dir, logger }).load(), []);
  });
});
