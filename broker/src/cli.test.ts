import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { storeSpecHelp } from '@poste/telemetry-store';
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

test('serve --redis: a URL that is not redis:// is a usage error naming the flag and the path', async () => {
  const bad = capture();
  assert.equal(await main(['serve', '--credentials', 'x.json', '--store', 'memory:', '--redis', '127.0.0.1:6379'], bad.io), 2);
  assert.match(bad.err.join('\n'), /--redis: invalid cluster options: redisUrl: a redis:\/\/ or rediss:\/\/ URL/);
});

test('serve --store: --help lists every backend; every kind parses, a bad spec is a usage error naming it', async () => {
  const c = capture();
  assert.equal(await main(['--help'], c.io), 0);
  for (const line of storeSpecHelp()) assert.ok(c.out.join('\n').includes(line), `--help lacks ${line}`);
  const bad = capture();
  assert.equal(await main(['serve', '--credentials', 'x.json', '--store', 'influxdb2:http://127.0.0.1:8086?org=o'], bad.io), 2);
  assert.match(bad.err.join('\n'), /store spec "influxdb2:http:\/\/127\.0\.0\.1:8086\?org=o": missing bucket=BUCKET/);
  // A valid spec of each kind gets past parsing: the run then fails (exit 1) reading the credentials,
  // which name a directory (a missing file would be an empty store, and serve would start).
  const specs = [
    'embedded:/nonexistent/t.duckdb',
    'influxdb1:http://127.0.0.1:9/poste',
    'influxdb2:http://127.0.0.1:9?org=o&bucket=b&token=t',
    'memory:',
  ];
  for (const spec of specs) {
    const r = capture();
    assert.equal(await main(['serve', '--credentials', tmpdir(), '--store', spec], r.io), 1, `${spec}: ${r.err.join('\n')}`);
    assert.match(r.err.join('\n'), /EISDIR/);
  }
});
