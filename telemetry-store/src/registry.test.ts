import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryStore } from './memory/store';
import { openStore, parseStoreConfig, parseStoreSpec, STORE_BACKENDS, StoreConfigSchema, storeSpecHelp } from './registry';

describe('parseStoreSpec: every form', () => {
  test('embedded:PATH', () => {
    assert.deepEqual(parseStoreSpec('embedded:/var/lib/poste/telemetry.duckdb'), {
      kind: 'embedded',
      path: '/var/lib/poste/telemetry.duckdb',
      rawRetentionDays: 90,
      dayTierUtcOffsetHours: -3,
    });
    assert.deepEqual(parseStoreSpec('embedded:data/t.duckdb'), {
      kind: 'embedded',
      path: 'data/t.duckdb',
      rawRetentionDays: 90,
      dayTierUtcOffsetHours: -3,
    });
    // only the first ':' separates the kind, so DuckDB's ':memory:' works
    assert.deepEqual(parseStoreSpec('embedded::memory:'), {
      kind: 'embedded',
      path: ':memory:',
      rawRetentionDays: 90,
      dayTierUtcOffsetHours: -3,
    });
  });

  test('influxdb1:URL/DB, with credentials, with https', () => {
    assert.deepEqual(parseStoreSpec('influxdb1:http://127.0.0.1:8086/poste'), {
      kind: 'influxdb1',
      url: 'http://127.0.0.1:8086',
      database: 'poste',
    });
    assert.deepEqual(parseStoreSpec('influxdb1:http://u:p@db:8086/poste'), {
      kind: 'influxdb1',
      url: 'http://u:p@db:8086',
      database: 'poste',
    });
    assert.deepEqual(parseStoreSpec('influxdb1:https://influx.example.org/poste/'), {
      kind: 'influxdb1',
      url: 'https://influx.example.org',
      database: 'poste',
    });
  });

  test('influxdb2:URL?org&bucket&token|tokenFile[&database]', () => {
    assert.deepEqual(parseStoreSpec('influxdb2:http://127.0.0.1:8086?org=poste&bucket=telemetry&token=s3cr3t'), {
      kind: 'influxdb2',
      url: 'http://127.0.0.1:8086',
      org: 'poste',
      bucket: 'telemetry',
      token: 's3cr3t',
      writeAttempts: 5,
      retryInitialDelayMs: 200,
    });
    assert.deepEqual(
      parseStoreSpec('influxdb2:https://cloud.example.org/?org=my%20org&bucket=b&tokenFile=/etc/poste/influx-token&database=poste'),
      {
        kind: 'influxdb2',
        url: 'https://cloud.example.org',
        org: 'my org',
        bucket: 'b',
        tokenFile: '/etc/poste/influx-token',
        database: 'poste',
        writeAttempts: 5,
        retryInitialDelayMs: 200,
      },
    );
    // a path prefix (a reverse proxy) is kept
    const c = parseStoreSpec('influxdb2:http://proxy/influx/?org=o&bucket=b&token=t');
    assert.equal(c.kind === 'influxdb2' && c.url, 'http://proxy/influx');
  });

  test('memory: and memory:NAME', () => {
    assert.deepEqual(parseStoreSpec('memory:'), { kind: 'memory', maxPoints: 1_000_000 });
    assert.deepEqual(parseStoreSpec('memory:demo-1'), { kind: 'memory', name: 'demo-1', maxPoints: 1_000_000 });
  });
});

describe('parseStoreSpec: every error names the spec and what is expected', () => {
  const rejects = (spec: string, reason: RegExp, expected: string) =>
    assert.throws(
      () => parseStoreSpec(spec),
      (err: unknown) => {
        const m = (err as Error).message;
        assert.ok(m.startsWith(`store spec ${JSON.stringify(spec)}: `), m);
        assert.match(m, reason);
        assert.ok(m.includes(expected), `${m} should mention ${expected}`);
        return true;
      },
    );

  test('no kind, unknown kind', () => {
    for (const spec of ['embedded', '', ':x', 'telemetry.duckdb']) rejects(spec, /expected KIND:/, 'influxdb1:URL/DB');
    rejects('mongo:x', /unknown kind "mongo" \(known: embedded, influxdb1, influxdb2, memory\)/, 'memory');
  });

  test('embedded', () => {
    rejects('embedded:', /missing PATH/, 'expected embedded:PATH');
  });

  test('influxdb1', () => {
    rejects('influxdb1:', /missing URL/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:127.0.0.1:8086/poste', /is not a URL|scheme/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:not a url', /is not a URL/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:ftp://db/poste', /scheme ftp: is not http: or https:/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:http://127.0.0.1:8086', /missing \/DATABASE/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:http://127.0.0.1:8086/', /missing \/DATABASE/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:http://127.0.0.1:8086/a/b', /contains '\/'/, 'expected influxdb1:URL/DB');
    rejects('influxdb1:http://127.0.0.1:8086/poste?rp=x', /no \?query/, 'expected influxdb1:URL/DB');
  });

  test('influxdb2', () => {
    const expected = 'expected influxdb2:URL?org=ORG&bucket=BUCKET';
    rejects('influxdb2:', /missing URL/, expected);
    rejects('influxdb2:nope?org=o&bucket=b&token=t', /is not a URL/, expected);
    rejects('influxdb2:http://h?bucket=b&token=t', /missing org=ORG/, expected);
    rejects('influxdb2:http://h?org=o&token=t', /missing bucket=BUCKET/, expected);
    rejects('influxdb2:http://h?org=o&bucket=b', /exactly one of token=TOKEN or tokenFile=PATH/, expected);
    rejects('influxdb2:http://h?org=o&bucket=b&token=t&tokenFile=/f', /exactly one of token=TOKEN or tokenFile=PATH/, expected);
    rejects('influxdb2:http://h?org=o&bucket=b&token=t&buckets=c', /unknown parameter "buckets"/, expected);
    rejects('influxdb2:http://h?org=o&org=p&bucket=b&token=t', /org given twice/, expected);
    rejects('influxdb2:http://h?org=&bucket=b&token=t', /org is empty/, expected);
  });

  test('memory', () => {
    rejects('memory:no spaces', /NAME "no spaces" must be/, 'expected memory:[NAME]');
    rejects(`memory:${'x'.repeat(65)}`, /must be 1 to 64/, 'expected memory:[NAME]');
  });
});

test('storeSpecHelp has one line per backend, each starting with its kind', () => {
  const help = storeSpecHelp();
  assert.equal(help.length, STORE_BACKENDS.length);
  STORE_BACKENDS.forEach((b, i) => {
    assert.ok(help[i]!.startsWith(`${b.kind}:`), help[i]);
  });
});

test('the config union rejects incomplete configs, naming the field', () => {
  assert.equal(StoreConfigSchema.safeParse({ kind: 'influxdb2', url: 'http://x:8086', org: 'o', bucket: 'b' }).success, false);
  assert.equal(StoreConfigSchema.safeParse({ kind: 'embedded' }).success, false);
  assert.equal(StoreConfigSchema.safeParse({ kind: 'influxdb1', url: 'not a url', database: 'd' }).success, false);
  assert.equal(StoreConfigSchema.safeParse({ kind: 'memory', name: 'a b' }).success, false);
  const c = StoreConfigSchema.parse({ kind: 'influxdb1', url: 'http://127.0.0.1:8086' });
  assert.equal(c.kind === 'influxdb1' && c.database, 'poste');
  assert.throws(() => parseStoreConfig({ kind: 'influxdb2', url: 'http://x:8086', bucket: 'b', token: 't' }), /influxdb2\.org: /);
  assert.throws(
    () => parseStoreConfig({ kind: 'influxdb2', url: 'http://x:8086', org: 'o', bucket: 'b' }),
    /influxdb2\.token: give exactly one of token or tokenFile/,
  );
  assert.throws(() => parseStoreConfig({ kind: 'cassandra' }), /invalid store config: cassandra\.kind: /);
});

test('openStore builds the backend the kind names, initialised', async () => {
  const s = await openStore({ kind: 'memory' });
  assert.ok(s instanceof MemoryStore);
  assert.equal(s.kind, 'memory');
  await s.close();
});
