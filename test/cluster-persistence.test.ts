// Aedes' own contract for persistence back ends (aedes-persistence's abstract.js), run against the
// cluster's persistence (aedes-persistence-redis behind Poste's adapter) on a real redis-server:
// the adapter must keep every behaviour Aedes 1.x relies on. Then the one thing it changes: the
// will of a gateway that failed over to another node is dropped, not published.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import mqemitter from 'mqemitter';
import { ClusterPersistence } from '@poste/broker';
import { startRedis, type RunningRedis } from './harness/redis';

const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: {
  test: typeof test;
  persistence: () => ClusterPersistence;
  testAsync: boolean;
  waitForReady?: boolean;
}) => void;

let redis: RunningRedis;
before(async () => {
  redis = await startRedis({ databases: 4_000 });
});
after(async () => {
  await redis.remove();
});

// A fresh Redis database per test: each test expects an empty persistence.
let db = 0;
abstractPersistence({
  test,
  persistence: () => new ClusterPersistence({ conn: new Redis(`${redis.url}/${db++}`) }),
  testAsync: true,
});

test('a dead node’s will is published only for clients not connected again elsewhere', async () => {
  const persistence = new ClusterPersistence({ conn: new Redis(`${redis.url}/${db++}`) });
  const asBroker = (id: string) => {
    const mq = mqemitter();
    return { id, mq, publish: mq.emit.bind(mq), subscribe: mq.on.bind(mq), unsubscribe: mq.removeListener.bind(mq), counter: 0 };
  };
  const will = (clientId: string) => ({
    cmd: 'publish',
    topic: `poste/v1/gw/${clientId}/state`,
    payload: Buffer.from('offline'),
    qos: 1,
    retain: true,
  });
  // Node "dead" held gw-a and gw-b; gw-a has since connected to node "live".
  await persistence.setup(asBroker('dead'));
  await (persistence as unknown as { putWill(c: { id: string }, p: object): Promise<void> }).putWill({ id: 'gw-a' }, will('gw-a'));
  await (persistence as unknown as { putWill(c: { id: string }, p: object): Promise<void> }).putWill({ id: 'gw-b' }, will('gw-b'));
  const live = new ClusterPersistence({ conn: new Redis(`${redis.url}/${db - 1}`) });
  await live.setup(asBroker('live'));
  await (live as unknown as { putWill(c: { id: string }, p: object): Promise<void> }).putWill({ id: 'gw-a' }, will('gw-a'));

  const published: string[] = [];
  for await (const w of live.streamWill({ live: Date.now() })) published.push(`${w.brokerId}/${w.clientId}`);
  assert.deepEqual(published, ['dead/gw-b'], 'only gw-b, still away, gets its will published');
  const left: string[] = [];
  for await (const w of live.streamWill()) left.push(`${w.brokerId}/${w.clientId}`);
  assert.deepEqual(left.sort(), ['dead/gw-b', 'live/gw-a'], 'gw-a’s stale will from the dead node is deleted');
  await persistence.destroy();
  await live.destroy();
});

test('a will deleted while the node’s Redis connection closes fails to its caller and leaves no unhandled rejection', async () => {
  // Auto-pipelining as a cluster node connects (redis-engines.ts): commands wait for the next tick
  // to be written, so those issued just before the close are still unsent when it comes.
  const conn = new Redis(`${redis.url}/${db++}`, { enableAutoPipelining: true });
  const persistence = new ClusterPersistence({ conn });
  await conn.ping();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    // delWill sends LREM without awaiting it, then GET: both are unanswered when the connection drops.
    const deleting = persistence.delWill({ id: 'gw-a', brokerId: 'node-1' });
    conn.disconnect();
    await assert.rejects(deleting, /Connection is closed/);
    // Unhandled rejections are reported after the microtask queue drains: give them a turn of the loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      unhandled.map((r) => String(r)),
      [],
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
