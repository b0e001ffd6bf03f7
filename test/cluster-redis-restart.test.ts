// The cluster's shared parts change under a running city: Redis is restarted (its append-only
// file brings the broker state back), then a node is added. Readings keep flowing through both;
// retained desired configs survive the restart; after it, messages still fan out between nodes;
// the new node serves the retained state and takes gateways when another node dies; every reading
// the devices produced is stored exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encode, parseJson, topic, type DesiredConfig } from '@poste/protocol';
import mqtt from 'mqtt';
import { waitFor } from './harness/free-port';
import { HOUR, startClusterRig, type ClusterRig } from './cluster-rig';

function connectService(url: string, who: ClusterRig['service']) {
  return mqtt.connectAsync(url, {
    protocolVersion: 4,
    clean: true,
    clientId: `${who.username}-${Math.random().toString(36).slice(2, 8)}`,
    username: who.username,
    password: who.password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
}

/** Retained desired configs a new subscriber on `url` gets, by gateway. */
async function desiredOn(url: string, who: ClusterRig['service'], want: number): Promise<Map<string, unknown>> {
  const client = await connectService(url, who);
  const got = new Map<string, unknown>();
  try {
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      client.on('message', (t, payload) => {
        const json = parseJson(payload);
        got.set(t.split('/')[3]!, json.ok ? json.value : undefined);
        if (got.size >= want) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await client.subscribeAsync('poste/v1/gw/+/config/desired', { qos: 1 });
    await done;
  } finally {
    await client.endAsync();
  }
  return got;
}

/** Whether a telemetry batch a gateway publishes on some node reaches a subscriber on `url`. */
async function hearsTelemetry(url: string, who: ClusterRig['service']): Promise<Set<string>> {
  const client = await connectService(url, who);
  const from = new Set<string>();
  try {
    client.on('message', (t) => from.add(t.split('/')[3]!));
    await client.subscribeAsync('poste/v1/gw/+/telemetry/luminaire', { qos: 0 });
    await sleep(3_000);
  } finally {
    await client.endAsync();
  }
  return from;
}

test('cluster: Redis restarted and a node added while the city runs — state kept, fan-out resumes, nothing lost or doubled', async (t) => {
  const rig = await startClusterRig({ name: 'redis', nodes: 2, slots: 3 });
  try {
    const [n0, n1, n2] = rig.nodes;
    const desired = new Map<string, DesiredConfig>();
    const publisher = await connectService(n0!.url, rig.service);
    for (const [i, gw] of rig.gateways.entries()) {
      const d: DesiredConfig = { v: 1, version: 20 + i, config: {} };
      desired.set(gw, d);
      await publisher.publishAsync(topic('configDesired', { gateway: gw }), encode(d), { qos: 1, retain: true });
    }
    await publisher.endAsync();

    await rig.untilSim(0.5 * HOUR);
    // A clean shutdown (the append-only file is fsynced on every write anyway), 2 s down, back.
    await rig.redis.stop('term');
    await sleep(2_000);
    await rig.redis.restart();
    await rig.untilSim(1 * HOUR);

    const kept = await desiredOn(n1!.url, rig.service, rig.gateways.length);
    for (const gw of rig.gateways) assert.deepEqual(kept.get(gw), desired.get(gw), `${gw}'s desired config after the Redis restart`);
    const heard = await hearsTelemetry(n1!.url, rig.service);
    assert.deepEqual(
      [...heard].sort(),
      [...rig.gateways].sort(),
      'after the restart, every gateway’s telemetry reaches a subscriber on node 1',
    );

    // A third node joins the running city: it serves the retained state and the live fan-out.
    await rig.startNode(2);
    const onNew = await desiredOn(n2!.url, rig.service, rig.gateways.length);
    for (const gw of rig.gateways) assert.deepEqual(onNew.get(gw), desired.get(gw), `${gw}'s desired config on the new node`);
    const heardNew = await hearsTelemetry(n2!.url, rig.service);
    assert.deepEqual([...heardNew].sort(), [...rig.gateways].sort(), 'every gateway’s telemetry reaches a subscriber on the new node');

    // Node 0 dies: its gateways move on, to node 1 or to the new node.
    const onZero = rig.gateways.filter((gw) => rig.nodeOf(gw) === 0);
    await rig.killNode(0);
    await waitFor(
      `node 0's gateways (${onZero}) on another node`,
      () => rig.gateways.every((gw) => rig.nodeOf(gw) === 1 || rig.nodeOf(gw) === 2),
      20_000,
    );
    t.diagnostic(`after node 0 died: ${rig.gateways.map((gw) => `${gw}@${rig.nodeOf(gw)}`).join(', ')}`);

    const acc = await rig.finish(1.5 * HOUR);
    t.diagnostic(`readings produced ${JSON.stringify(acc.expected)}, stored ${JSON.stringify(acc.stored)}`);
    assert.deepEqual(acc.mismatches.slice(0, 5), [], `series differ from what the devices produced\n${rig.logs()}`);
    assert.deepEqual(acc.stored, acc.expected, 'per measurement, stored = produced');
    assert.deepEqual(acc.energy.perDeviceMismatches, [], 'every luminaire’s stored readings add up to the energy it reported');
  } finally {
    await rig.stop();
  }
});
