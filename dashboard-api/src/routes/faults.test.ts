import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encode, topic } from '@poste/protocol';
import { createDashboardApi } from '../app';
import { startTestApi, type TestApi } from '../test-support/app';
import { apReadingPoint, NOW, seededStore, testInventory } from '../test-support/fixtures';

const events = (gateway: string, seq: number, list: object[]) =>
  [topic('events', { gateway }), encode({ v: 1, seq, events: list })] as const;
const lamp = (active: boolean, ts = NOW) => ({ device: 'lum-b1', ts, type: 'lampFailure', active });
const state = (t: TestApi, gateway: string, status: 'online' | 'offline', device?: string) =>
  device
    ? t.fleet.ingest(topic('deviceState', { gateway, device }), encode({ v: 1, kind: 'luminaire', status, seq: 1, ts: NOW }))
    : t.fleet.ingest(topic('gatewayState', { gateway }), encode({ v: 1, status, seq: 1, ts: NOW }));

describe('faults', () => {
  it('raises from device events, deduplicates, acknowledges, assigns and clears by the device; viewers only read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-faults-'));
    let t = await startTestApi({ dataDir: dir });
    try {
      const viewer = await t.auth('viewer');
      const operator = await t.auth('operator');
      t.fleet.ingest(...events('gw-b', 0, [lamp(true), { device: 'lum-b2', ts: NOW, type: 'motion', active: true, value: 3 }]));
      t.fleet.ingest(...events('gw-b', 1, [lamp(true, NOW + 1000)]));
      const list = (await t.api.app.inject({ url: '/api/v1/faults?state=open', headers: viewer })).json();
      assert.equal(list.total, 1, 'one fault, however often it is reported; motion is not a fault');
      const f = list.items[0];
      assert.deepEqual(
        [f.type, f.municipality, f.gateway, f.device, f.occurrences, f.lastSeenAt],
        ['lampFailure', 'belem', 'gw-b', 'lum-b1', 2, NOW + 1000],
      );
      const ack = (h: Record<string, string>) =>
        t.api.app.inject({ method: 'POST', url: `/api/v1/faults/${f.id}/acknowledge`, headers: h });
      assert.equal((await ack(viewer)).statusCode, 403);
      const acked = (await ack(operator)).json();
      assert.deepEqual([acked.state, acked.acknowledgedBy], ['acknowledged', 'test operator']);
      const bad = await t.api.app.inject({ method: 'POST', url: `/api/v1/faults/${f.id}/assign`, headers: operator, payload: {} });
      assert.deepEqual(bad.json().issues[0].path, 'body.assignee');
      const assigned = await t.api.app.inject({
        method: 'POST',
        url: `/api/v1/faults/${f.id}/assign`,
        headers: operator,
        payload: { assignee: 'equipe norte' },
      });
      assert.equal(assigned.json().assignee, 'equipe norte');
      const counts = (await t.api.app.inject({ url: '/api/v1/faults/counts', headers: viewer })).json();
      assert.deepEqual(counts.byMunicipality, [
        { municipality: 'belem', open: 0, acknowledged: 1, cleared: 0, byType: { lampFailure: 1 } },
      ]);

      // Restarted on the same data dir: the fault and its acknowledgement are still there.
      await t.api.close();
      t = await startTestApi({ dataDir: dir });
      const again = (
        await t.api.app.inject({ url: `/api/v1/faults?assignee=${encodeURIComponent('equipe norte')}`, headers: await t.auth('viewer') })
      ).json();
      assert.equal(again.items[0].id, f.id);
      assert.equal(again.items[0].state, 'acknowledged');
      t.fleet.ingest(...events('gw-b', 2, [lamp(false, NOW + 5000)]));
      const cleared = (await t.api.app.inject({ url: '/api/v1/faults?state=cleared', headers: await t.auth('viewer') })).json();
      assert.deepEqual([cleared.items[0].id, cleared.items[0].clearedBy, cleared.items[0].clearedAt], [f.id, 'device', NOW + 5000]);
      const late = await t.api.app.inject({ method: 'POST', url: `/api/v1/faults/${f.id}/acknowledge`, headers: await t.auth('operator') });
      assert.equal(late.statusCode, 409);
      assert.equal(
        (
          await t.api.app.inject({
            method: 'POST',
            url: '/api/v1/faults/f-000000000000/clear',
            headers: await t.auth('operator'),
            payload: {},
          })
        ).statusCode,
        404,
      );
    } finally {
      await t.api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a silent gateway is one fault; a device silent behind an online gateway is its own; both clear when back', async () => {
    const t = await startTestApi();
    try {
      const viewer = await t.auth('viewer');
      const active = async () =>
        (
          (await t.api.app.inject({ url: '/api/v1/faults?state=active', headers: viewer })).json().items as {
            type: string;
            device?: string;
          }[]
        ).map((f) => `${f.type}:${f.device ?? ''}`);
      state(t, 'gw-b', 'online');
      state(t, 'gw-b', 'online', 'lum-b1');
      state(t, 'gw-b', 'online', 'lum-b2');
      state(t, 'gw-b', 'offline', 'lum-b2');
      assert.deepEqual(await active(), ['deviceSilent:lum-b2']);
      state(t, 'gw-b', 'offline');
      state(t, 'gw-b', 'offline', 'lum-b1'); // behind a silent gateway: not one more fault
      assert.deepEqual((await active()).sort(), ['deviceSilent:lum-b2', 'gatewaySilent:']);
      state(t, 'gw-b', 'online');
      state(t, 'gw-b', 'online', 'lum-b2');
      assert.deepEqual(await active(), []);
      const total = (await t.api.app.inject({ url: '/api/v1/faults/counts', headers: viewer })).json().total;
      assert.deepEqual(total, { open: 0, acknowledged: 0, cleared: 2 });
    } finally {
      await t.api.close();
    }
  });

  it('a free Wi-Fi point below its quality threshold raises apBelowQuality, cleared once it recovers', async () => {
    const store = await seededStore();
    const MIN = 60_000;
    const bytes = (n: number) => ({ household: n, telemedicine: n, public: n });
    await store.write([apReadingPoint(NOW - 90 * MIN, bytes(0)), apReadingPoint(NOW - 30 * MIN, bytes(1e6), 2_000)]);
    const api = await createDashboardApi({
      store,
      inventory: testInventory(),
      clock: { now: () => NOW },
      logger: false,
      defaultMetrics: false,
      apQualityIntervalMs: 50,
    });
    try {
      const { token } = await api.tokens.create({ name: 'v', role: 'viewer' });
      const active = async () =>
        (
          await api.app.inject({ url: '/api/v1/faults?type=apBelowQuality&state=active', headers: { authorization: `Bearer ${token}` } })
        ).json().items as { device: string; detail: string }[];
      let items = await active();
      for (let i = 0; i < 100 && items.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        items = await active();
      }
      assert.equal(items[0]?.device, 'ap-1');
      assert.match(items[0]!.detail, /kbit\/s spare, threshold 3000 kbit\/s/);
      await store.write([apReadingPoint(NOW - 10 * MIN, bytes(1.001e6), 50_000)]);
      for (let i = 0; i < 100 && items.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        items = await active();
      }
      assert.deepEqual(items, []);
    } finally {
      await api.close();
    }
  });
});
