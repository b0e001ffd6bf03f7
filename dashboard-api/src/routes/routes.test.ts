import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topic } from '@poste/protocol';
import { HOUR, NOW } from '../test-support/fixtures';
import { startTestApi, type TestApi } from '../test-support/app';

let t: TestApi;
before(async () => {
  t = await startTestApi();
});
after(async () => {
  await t.api.close();
});

const get = async (url: string) => {
  const res = await t.api.app.inject({ method: 'GET', url });
  return { status: res.statusCode, headers: res.headers, text: res.body, json: () => res.json() as Record<string, unknown> };
};

describe('GET /api/v1/energy', () => {
  it('defaults to the 24 h before the injected clock and returns totals and rollups', async () => {
    const r = await get('/api/v1/energy');
    assert.equal(r.status, 200);
    const e = r.json();
    assert.equal(e.from, NOW - 24 * HOUR);
    assert.equal(e.to, NOW);
    assert.equal(e.measuredKwh, 2);
    assert.equal(e.baselineKwh, 6.3);
    assert.equal(e.savedKwh, 4.3);
    assert.equal(e.savedBrl, 3.08); // 1.1 × 0.8 + 2.0 × 0.8 + 1.2 × 0.5
    assert.equal(e.savedCo2Kg, 0.166); // 4.3 × 0.0385 = 0.16555
    assert.equal(e.billingBaselineKwh, 7.261); // (170 + 290) × 11.4 + 170 × 11.866, in Wh
    assert.equal((e.byMunicipality as unknown[]).length, 2);
  });

  it('filters by municipality', async () => {
    const e = (await get('/api/v1/energy?municipality=santarem')).json();
    assert.equal(e.measuredKwh, 0.5);
    assert.equal(e.savedBrl, 0.6);
    assert.deepEqual(
      (e.byMunicipality as { municipality: string }[]).map((m) => m.municipality),
      ['santarem'],
    );
  });

  it('accepts ISO 8601 and ms since epoch; a window without data gives zeros', async () => {
    const iso = (await get(`/api/v1/energy?from=${new Date(NOW - 48 * HOUR).toISOString()}&to=${NOW - 24 * HOUR}`)).json();
    assert.equal(iso.from, NOW - 48 * HOUR);
    assert.equal(iso.to, NOW - 24 * HOUR);
    assert.equal(iso.measuredKwh, 0);
    const offset = (await get('/api/v1/energy?from=2024-06-01T00:00:00-03:00&to=2024-06-01T12:00:00-03:00')).json();
    assert.equal(offset.from, Date.UTC(2024, 5, 1, 3));
  });

  it('400 names the parameter and the reason', async () => {
    const cases: [string, string, RegExp][] = [
      ['from=yesterday', 'from', /ISO 8601/],
      ['to=2024-13-01T00:00:00Z', 'to', /ISO 8601/],
      [`from=${NOW}&to=${NOW - 1}`, 'from', /before to/],
      [`from=${NOW}&to=${NOW}`, 'from', /before to/],
      ['municipality=b%C3%A9lem', 'municipality', /municipality id/],
      ['municipalty=belem', 'municipalty', /unknown parameter/],
      ['from=1&to=99999999999999', 'to', /400 days/],
    ];
    for (const [query, path, reason] of cases) {
      const r = await get(`/api/v1/energy?${query}`);
      assert.equal(r.status, 400, query);
      const body = r.json() as { error: string; issues: { path: string; reason: string }[] };
      assert.equal(body.error, 'bad_request');
      const issue = body.issues.find((i) => i.path === path);
      assert.ok(issue, `${query}: no issue for ${path} in ${r.text}`);
      assert.match(issue.reason, reason, query);
    }
  });

  it('unknown municipality → 404', async () => {
    const r = await get('/api/v1/energy?municipality=recife');
    assert.equal(r.status, 404);
    assert.equal(r.json().error, 'not_found');
  });

  it('store down → 503, and counted in /metrics', async () => {
    t.store.failing = true;
    try {
      const r = await get('/api/v1/energy');
      assert.equal(r.status, 503);
      assert.equal(r.json().error, 'store_unavailable');
      assert.equal(r.headers['retry-after'], '5', 'the store may be back soon: clients are told when to retry');
    } finally {
      t.store.failing = false;
    }
    assert.match((await get('/metrics')).text, /poste_dashboard_store_errors_total\{operation="luminaireEnergy"\} 1/);
  });
});

describe('GET /api/v1/fleet', () => {
  it('returns exactly the three online/offline counts, optionally per municipality', async () => {
    t.fleet.ingest(topic('gatewayState', { gateway: 'gw-b' }), JSON.stringify({ v: 1, status: 'online', seq: 1, ts: NOW }));
    t.fleet.ingest(topic('gatewayState', { gateway: 'gw-s' }), JSON.stringify({ v: 1, status: 'offline', seq: 1, ts: NOW }));
    for (const [gw, dev, kind] of [
      ['gw-b', 'lum-b1', 'luminaire'],
      ['gw-b', 'ap-b1', 'ap'],
      ['gw-s', 'lum-s1', 'luminaire'],
    ] as const) {
      t.fleet.ingest(topic('deviceState', { gateway: gw, device: dev }), JSON.stringify({ v: 1, kind, status: 'online', seq: 1, ts: NOW }));
    }
    const r = await get('/api/v1/fleet');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      gateways: { online: 1, offline: 1 },
      luminaires: { online: 1, offline: 1 },
      aps: { online: 1, offline: 0 },
    });
    assert.deepEqual((await get('/api/v1/fleet?municipality=santarem')).json(), {
      gateways: { online: 0, offline: 1 },
      luminaires: { online: 0, offline: 1 },
      aps: { online: 0, offline: 0 },
    });
    assert.equal((await get('/api/v1/fleet?municipality=recife')).status, 404);
    const bad = await get('/api/v1/fleet?municipality=a/b');
    assert.equal(bad.status, 400);
    assert.equal((bad.json() as { issues: { path: string }[] }).issues[0]?.path, 'municipality');
  });
});

describe('other routes', () => {
  it('GET /healthz reports the store and the fleet link; 503 when the store is down', async () => {
    const ok = await get('/healthz');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { status: 'ok', store: { kind: 'memory', reachable: true }, fleetLink: 'none' });
    t.store.failing = true;
    try {
      const down = await get('/healthz');
      assert.equal(down.status, 503);
      assert.equal(down.json().status, 'degraded');
      assert.equal((down.json().store as { reachable: boolean }).reachable, false);
    } finally {
      t.store.failing = false;
    }
  });

  it('GET /api/v1/municipalities lists the inventory with its defaults', async () => {
    const body = (await get('/api/v1/municipalities')).json() as { municipalities: { id: string; co2KgPerKwh: number }[] };
    assert.deepEqual(
      body.municipalities.map((m) => [m.id, m.co2KgPerKwh]),
      [
        ['belem', 0.0385],
        ['santarem', 0.0385],
      ],
    );
  });

  it('GET /openapi.json is OpenAPI 3.1 documenting every route with its query parameters', async () => {
    const doc = (await get('/openapi.json')).json() as {
      openapi: string;
      paths: Record<string, { get: { parameters?: { name: string; required: boolean }[]; responses: Record<string, unknown> } }>;
    };
    assert.equal(doc.openapi, '3.1.0');
    const registered = t.api.app.printRoutes({ commonPrefix: false });
    for (const path of ['/', '/healthz', '/metrics', '/openapi.json', '/api/v1/fleet', '/api/v1/energy', '/api/v1/municipalities']) {
      assert.ok(doc.paths[path]?.get, `${path} documented`);
      assert.ok(registered.includes(path.slice(1) || '/'), `${path} registered`);
    }
    const energy = doc.paths['/api/v1/energy']!.get;
    assert.deepEqual(
      energy.parameters?.map((p) => [p.name, p.required]),
      [
        ['from', false],
        ['to', false],
        ['municipality', false],
        ['gateway', false],
      ],
    );
    assert.ok(energy.responses['200'] && energy.responses['400'] && energy.responses['404']);
    const fleetSchema = JSON.stringify(doc.paths['/api/v1/fleet']!.get.responses['200']);
    assert.match(fleetSchema, /"luminaires"/);
  });

  it('GET /metrics exposes request and fleet metrics', async () => {
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /text\/plain/);
    assert.match(r.text, /poste_dashboard_http_requests_total\{method="GET",route="\/api\/v1\/energy",status="200"\}/);
    assert.match(r.text, /poste_fleet_devices\{kind="gateways",status="online"\}/);
  });

  it('GET / serves the self-contained page with a CSP that forbids external requests', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /text\/html/);
    assert.match(r.headers['content-security-policy'] as string, /default-src 'none'.*connect-src 'self'/);
    assert.doesNotMatch(r.text, /https?:\/\//, 'no external URL in the page');
    assert.match(r.text, /id="saved-brl"/);
  });

  it('unknown routes → JSON 404', async () => {
    const r = await get('/api/v1/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json().error, 'not_found');
  });
});
