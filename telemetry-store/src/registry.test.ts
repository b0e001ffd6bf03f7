import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStoreSpec, StoreConfigSchema } from './registry';

test('CLI store specs parse into validated configs', () => {
  assert.deepEqual(parseStoreSpec('embedded:/var/lib/poste/telemetry.duckdb'), { kind: 'embedded', path: '/var/lib/poste/telemetry.duckdb' });
  assert.deepEqual(parseStoreSpec('influxdb1:http://127.0.0.1:8086/poste'), { kind: 'influxdb1', url: 'http://127.0.0.1:8086', database: 'poste' });
  assert.deepEqual(parseStoreSpec('influxdb1:http://u:p@db:8086/poste'), { kind: 'influxdb1', url: 'http://u:p@db:8086', database: 'poste' });
  assert.throws(() => parseStoreSpec('influxdb1:http://127.0.0.1:8086'), /DATABASE/);
  assert.throws(() => parseStoreSpec('mongo:x'), /unknown kind/);
  assert.throws(() => parseStoreSpec('embedded'), /expected/);
});

test('the config union rejects incomplete configs', () => {
  assert.equal(StoreConfigSchema.safeParse({ kind: 'influxdb2', url: 'http://x:8086', org: 'o', bucket: 'b' }).success, false);
  assert.equal(StoreConfigSchema.safeParse({ kind: 'embedded' }).success, false);
  assert.equal(StoreConfigSchema.safeParse({ kind: 'influxdb1', url: 'not a url', database: 'd' }).success, false);
  const c = StoreConfigSchema.parse({ kind: 'influxdb1', url: 'http://127.0.0.1:8086' });
  assert.equal(c.kind === 'influxdb1' && c.database, 'poste');
});
