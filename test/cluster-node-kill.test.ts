// Three broker nodes on one Redis and one InfluxDB, three gateways spread over them. The node with
// a gateway is SIGKILLed mid-stream: its gateways move to the survivors; the retained desired
// configs, a persistent session (its subscription and the QoS 1 messages queued for it while it
// was away) survive; and every reading the devices produced is stored exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode, parseJson, topic, type DesiredConfig } from '@poste/protocol';
import mqtt from 'mqtt';
import { waitFor } from './harness/free-port';
import { HOUR, startClusterRig, type ClusterRig } from './cluster-rig';

type Service = ClusterRig['service'];

const PROBE_TOPIC = 'poste/v1/gw/probe-gw/cmd';

function connectService(url: string, who: Service, extra: mqtt.IClientOptions = {}) {
  return mqtt.connectAsync(url, {
    protocolVersion: 4,
    clean: true,
    clientId: `${who.username}-${Math.random().toString(36).slice(2, 8)}`,
    username: who.username,
    password: who.password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...extra,
  });
}

/** The retained messages a new subscriber to `filter` gets on `url`, by topic. */
async function retained(url: string, who: Service, filter: string, want: number, waitMs = 5_000): Promise<Map<string, unknown>> {
  const client = await connectService(url, who);
  const got = new Map<string, unknown>();
  try {
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      client.on('message', (t, payload, packet) => {
        if (!packet.retain) return;
        const json = parseJson(payload);
        got.set(t, json.ok ? json.value : payload.toString('utf8'));
        if (got.size >= want) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await client.subscribeAsync(filter, { qos: 1 });
    await done;
  } finally {
    await client.endAsync();
  }
  return got;
}

test('cluster: a node SIGKILLed mid-stream — gateways move, retained config and a persistent session survive, nothing lost or doubled', async (t) => {
  const rig = await startClusterRig({ name: 'kill', nodes: 3 });
  try {
    const [n0, n1, n2] = rig.nodes;
    // Desired configs published through one node are retained for every node.
    const publisher = await connectService(n0!.url, rig.service);
    const desired = new Map<string, DesiredConfig>();
    for (const [i, gw] of rig.gateways.entries()) {
      const d: DesiredConfig = { v: 1, version: 10 + i, config: {} };
      desired.set(gw, d);
      await publisher.publishAsync(topic('configDesired', { gateway: gw }), encode(d), { qos: 1, retain: true });
    }
    await publisher.endAsync();
    for (const node of [n1!, n2!]) {
      const seen = await retained(node.url, rig.service, 'poste/v1/gw/+/config/desired', rig.gateways.length);
      assert.equal(seen.size, rig.gateways.length, `node ${node.index} sees every retained desired config: ${[...seen.keys()]}`);
    }

    await waitFor('every gateway on a node', () => rig.gateways.every((gw) => rig.nodeOf(gw) !== undefined), 15_000);
    const victim = rig.nodeOf(rig.gateways[0]!)!;
    const onVictim = rig.gateways.filter((gw) => rig.nodeOf(gw) === victim);
    const survivors = rig.nodes.filter((n) => n.index !== victim);
    t.diagnostic(`gateways per node: ${rig.gateways.map((gw) => `${gw}@${rig.nodeOf(gw)}`).join(', ')}; killing node ${victim}`);

    // A persistent session on the victim: a QoS 1 subscription (a command topic no agent listens to).
    const sessionId = `${rig.service.username}-persistent`;
    const session = await connectService(rig.nodes[victim]!.url, rig.service, { clean: false, clientId: sessionId });
    await session.subscribeAsync(PROBE_TOPIC, { qos: 1 });
    await session.endAsync();

    await rig.untilSim(1 * HOUR);
    await rig.killNode(victim);

    // Messages for the session while it is away (its node is dead): queued in Redis.
    const sender = await connectService(survivors[0]!.url, rig.service);
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const payload = JSON.stringify({ probe: i });
      sent.push(payload);
      await sender.publishAsync(PROBE_TOPIC, payload, { qos: 1 });
    }
    await sender.endAsync();

    await waitFor(
      `the victim's gateways (${onVictim}) on a surviving node`,
      () => onVictim.every((gw) => rig.nodeOf(gw) !== undefined && rig.nodeOf(gw) !== victim),
      20_000,
    );

    // The session resumes on another node: the queued messages arrive, and the subscription is
    // still in force without subscribing again.
    const received: string[] = [];
    const resumed = mqtt.connect(survivors[1]!.url, {
      protocolVersion: 4,
      clean: false,
      clientId: sessionId,
      username: rig.service.username,
      password: rig.service.password,
      reconnectPeriod: 0,
    });
    resumed.on('message', (_t, payload) => received.push(payload.toString('utf8')));
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      resumed.once('connect', resolve);
      resumed.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true, 'the session is present on another node');
    await waitFor('the 20 queued QoS 1 messages', () => received.length >= 20, 10_000);
    const live = JSON.stringify({ probe: 'live' });
    const sender2 = await connectService(survivors[0]!.url, rig.service);
    await sender2.publishAsync(PROBE_TOPIC, live, { qos: 1 });
    await sender2.endAsync();
    await waitFor('a live message on the resumed subscription', () => received.includes(live), 10_000);
    await resumed.endAsync();
    // Each queued message exactly once. Not asserted: their order — in 1 of 6 runs the last 4
    // queued came before the first 16 (broker README, cluster known limits).
    assert.deepEqual(
      received.filter((m) => m !== live).sort(),
      [...sent].sort(),
      `queued messages delivered once each (received in this order: ${received.join(' ')})`,
    );
    if (received.slice(0, 20).join() !== sent.join()) t.diagnostic(`queued messages arrived out of order: ${received.join(' ')}`);

    const after = await retained(survivors[0]!.url, rig.service, 'poste/v1/gw/+/config/desired', rig.gateways.length);
    for (const gw of rig.gateways)
      assert.deepEqual(after.get(`poste/v1/gw/${gw}/config/desired`), desired.get(gw), `${gw}'s desired config`);

    const acc = await rig.finish(2 * HOUR);
    t.diagnostic(`readings produced ${JSON.stringify(acc.expected)}, stored ${JSON.stringify(acc.stored)}`);
    assert.deepEqual(acc.mismatches.slice(0, 5), [], `series differ from what the devices produced\n${rig.logs()}`);
    assert.deepEqual(acc.stored, acc.expected, 'per measurement, stored = produced');
    assert.deepEqual(acc.energy.perDeviceMismatches, [], 'every luminaire’s stored readings add up to the energy it reported');
  } finally {
    await rig.stop();
  }
});
