import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addGateway, CredentialsFileError, loadCredentials, revokeCredential, rotateCredential } from './store';
import { watchCredentials } from './watch';

test('a version 1 file is read and migrated to 2 on the next write; revoke and rotate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-creds-'));
  try {
    const file = join(dir, 'c.json');
    const pw = await addGateway(file, 'gw-1', 'belem');
    const v2 = JSON.parse(await readFile(file, 'utf8')) as { version: number; gateways: unknown[] };
    await writeFile(file, JSON.stringify({ version: 1, gateways: v2.gateways }));
    assert.equal((await loadCredentials(file)).data.version, 2);
    const fresh = await rotateCredential(file, 'gw-1');
    assert.equal(JSON.parse(await readFile(file, 'utf8')).version, 2);
    const creds = await loadCredentials(file);
    assert.equal((await creds.verify('gw-1', pw)).ok, false);
    assert.equal((await creds.verify('gw-1', fresh)).ok, true);
    await revokeCredential(file, 'gw-1');
    assert.deepEqual(await (await loadCredentials(file)).verify('gw-1', fresh), { ok: false, reason: 'revoked' });
    await writeFile(file, JSON.stringify({ version: 2, gateways: [{ id: 'gw-1', municipality: 'belem', passwordHash: 'plain' }] }));
    await assert.rejects(
      loadCredentials(file),
      (e: Error) => e instanceof CredentialsFileError && /gateways\.0\.passwordHash/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('watchCredentials: reloads a changed file, refuses a broken one and keeps going', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-creds-'));
  const file = join(dir, 'c.json');
  await addGateway(file, 'gw-1', 'belem');
  const reloads: number[] = [];
  const refused: string[] = [];
  const w = watchCredentials({ file, onReload: (s) => reloads.push(s.data.gateways.length), onRefused: (e) => refused.push(e.message) });
  try {
    await w.check();
    assert.deepEqual(reloads, [], 'no change, no reload');
    await writeFile(file, '{ not json');
    await w.check();
    assert.match(refused[0]!, /not JSON/);
    await addGateway(file, 'gw-2', 'belem').catch(() => undefined); // the file is broken: add fails
    await writeFile(file, JSON.stringify({ version: 2, gateways: [] }));
    await w.check();
    assert.deepEqual(reloads, [0]);
  } finally {
    w.close();
    await rm(dir, { recursive: true, force: true });
  }
});
