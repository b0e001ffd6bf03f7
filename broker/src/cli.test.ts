import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from './cli';
import { loadCredentials } from './credentials/store';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

test('--help prints usage and exits 0; no command exits 2; unknown flags exit 2', async () => {
  const c = capture();
  assert.equal(await main(['--help'], c.io), 0);
  assert.match(c.out.join('\n'), /add-gateway --credentials FILE --id ID --municipality M/);
  assert.equal(await main([], capture().io), 2);
  assert.equal(await main(['add-gateway', '--bogus'], capture().io), 2);
  assert.equal(await main(['add-gateway', '--credentials', 'x.json'], capture().io), 2);
  assert.equal(await main(['serve', '--credentials', 'x.json', '--store', 'nosuch:thing'], capture().io), 2);
});

test('add-gateway writes a hashed entry (0600) and prints a password that verifies', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-cli-'));
  try {
    const file = join(dir, 'creds.json');
    const c = capture();
    assert.equal(await main(['add-gateway', '--credentials', file, '--id', 'gw-1', '--municipality', 'belem'], c.io), 0);
    const password = c.out[0]!;
    assert.ok(password.length >= 24);
    assert.ok(!(await readFile(file, 'utf8')).includes(password), 'no clear password at rest');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const creds = await loadCredentials(file);
    assert.deepEqual(await creds.verify('gw-1', password), { ok: true, principal: { role: 'gateway', id: 'gw-1', municipality: 'belem' } });
    assert.deepEqual(await creds.verify('gw-1', 'wrong'), { ok: false, reason: 'bad-password' });
    assert.equal(creds.municipalityOf('gw-1'), 'belem');
    assert.equal(await main(['add-gateway', '--credentials', file, '--id', 'bad id!', '--municipality', 'belem'], capture().io), 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
