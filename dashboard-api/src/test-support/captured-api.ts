import { encode, topic } from '@poste/protocol';
import { createDashboardApi } from '../app';
import type { Role } from '../auth/roles';
import { createFleetTracker } from '../fleet';
import { NOW, seededStore, testInventory } from './fixtures';

/** The API with a hand-fed fleet whose publishes are captured, a movable clock, two luminaires and an AP seen on gw-b. */
export async function startCapturedApi(ackTimeoutMs = 30_000, dataDir?: string) {
  const published: { topic: string; payload: Record<string, unknown>; retain: boolean }[] = [];
  const fleet = createFleetTracker({
    publish: async (t, payload, o) => {
      published.push({ topic: t, payload: JSON.parse(String(payload)), retain: o?.retain ?? false });
    },
  });
  let now = NOW;
  const store = await seededStore();
  const api = await createDashboardApi({
    store,
    fleet,
    inventory: testInventory(),
    clock: { now: () => now },
    logger: false,
    defaultMetrics: false,
    commandAckTimeoutMs: ackTimeoutMs,
    ...(dataDir !== undefined ? { dataDir } : {}),
  });
  fleet.ingest(topic('gatewayState', { gateway: 'gw-b' }), encode({ v: 1, status: 'online', seq: 1, ts: NOW }));
  fleet.ingest(
    topic('deviceState', { gateway: 'gw-b', device: 'lum-b1' }),
    encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: NOW, group: 'av' }),
  );
  fleet.ingest(
    topic('deviceState', { gateway: 'gw-b', device: 'lum-b2' }),
    encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: NOW }),
  );
  fleet.ingest(topic('deviceState', { gateway: 'gw-b', device: 'ap-1' }), encode({ v: 1, kind: 'ap', status: 'online', seq: 1, ts: NOW }));
  const auth = async (role: Role) => ({
    authorization: `Bearer ${(await api.tokens.create({ name: role, role })).token}`,
  });
  const post = async (headers: Record<string, string>, payload: object) =>
    api.app.inject({ method: 'POST', url: '/api/v1/commands', headers, payload });
  const get = async (id: string) => (await api.app.inject({ url: `/api/v1/commands/${id}`, headers: await auth('viewer') })).json();
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
  };
  return { api, store, fleet, published, auth, post, get, until, setNow: (ms: number) => (now = ms) };
}
