import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type MqttClient } from 'mqtt';
import { ApBandwidthPlanSchema, topic, type ApReading } from '@poste/protocol';
import { startAgent } from '../../core/agent';
import { ManualTimers, silentLogger, startNorthPeer, waitFor } from '../../core/test-support';
import { bandwidthExtension, type RunningBandwidth } from './index';
import { estimateDemand, planChanged, planFor, servedBetween } from './plan';

const POLICY = { capacityKbps: 20_000, householdReserveKbps: 10_000, publicCapKbps: 6_000 };

test('planFor: reserve always guaranteed, telemedicine then public within the ceded share, ceilings per policy; every plan is valid', () => {
  const busy = planFor(POLICY, { household: 30_000, telemedicine: 2_000, public: 30_000 });
  assert.deepEqual(busy, {
    capacityKbps: 20_000,
    publicCapKbps: 6_000,
    household: { rateKbps: 14_000, ceilKbps: 20_000 },
    telemedicine: { rateKbps: 2_000, ceilKbps: 6_000 },
    public: { rateKbps: 4_000, ceilKbps: 6_000 },
  });
  const idle = planFor(POLICY, { household: 0, telemedicine: 0, public: 30_000 });
  assert.equal(idle.household.rateKbps, 10_000, 'an idle household still has its reserve guaranteed (lent while idle)');
  assert.equal(idle.public.ceilKbps, 6_000);
  for (const d of [
    busy,
    idle,
    planFor(POLICY, { household: 0, telemedicine: 0, public: 0 }),
    planFor({ ...POLICY, householdReserveKbps: 25_000 }, { household: 5, telemedicine: 9_000, public: 9_000 }),
  ]) {
    assert.equal(ApBandwidthPlanSchema.safeParse(d).success, true, JSON.stringify(d));
  }
  assert.equal(planChanged(busy, { ...busy, public: { rateKbps: 4_500, ceilKbps: 6_000 } }, 0.05), false, '500 kbit/s < 5 % of 20 Mbit/s');
  assert.equal(planChanged(busy, idle, 0.05), true);
});

const reading = (ts: number, uptime: number, bytes: ApReading['bytes']): ApReading => ({
  device: 'ap-1',
  ts,
  capacityKbps: 20_000,
  uptime,
  clients: { household: 2, telemedicine: 0, public: 4 },
  bytes,
});

test('demand from byte counters: rates between readings, nothing across a reboot or a counter that went down', () => {
  const a = reading(0, 100, { household: 0, telemedicine: 0, public: 0 });
  const b = reading(10_000, 110, { household: 12_500_000, telemedicine: 0, public: 2_500_000 });
  assert.deepEqual(servedBetween(a, b), { household: 10_000, telemedicine: 0, public: 2_000 });
  assert.equal(servedBetween(b, reading(20_000, 5, { household: 1, telemedicine: 0, public: 1 })), null, 'reboot');
  assert.deepEqual(estimateDemand({ household: 10_000, telemedicine: 0, public: 2_000 }, b.clients, 20_000, 1.25, 64), {
    household: 12_564,
    telemedicine: 0,
    public: 2_564,
  });
});

/** An AP speaking the openwrt adapter's topics (what poste-ap.sh does), acking plans as told. */
async function scriptedAp(
  port: number,
  refuse: () => boolean,
): Promise<{ client: MqttClient; plans: string[]; report(r: object): Promise<void> }> {
  const client = connect(`mqtt://127.0.0.1:${port}`, { clientId: 'ap-1-script', protocolVersion: 4, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const plans: string[] = [];
  await client.subscribeAsync('poste-ap/ap-1/plan', { qos: 1 });
  client.on('message', (_t, p) => {
    const line = p.toString('utf8');
    plans.push(line);
    const id = line.split(' ')[0];
    const ack = refuse() ? { id, outcome: 'rejected', detail: 'RTNETLINK answers: No such file or directory' } : { id, outcome: 'done' };
    void client.publishAsync('poste-ap/ap-1/ack', JSON.stringify(ack), { qos: 1 });
  });
  await client.publishAsync('poste-ap/ap-1/status', 'online', { qos: 1, retain: true });
  return { client, plans, report: (r) => client.publishAsync('poste-ap/ap-1/report', JSON.stringify(r)).then(() => undefined) };
}

const ubus = (uptime: number, lanBytes: number, guestBytes: number) => ({
  system: { uptime, load: [0, 0, 0], memory: { total: 1, free: 1 } },
  devices: {
    'br-lan': { statistics: { rx_bytes: 0, tx_bytes: lanBytes, rx_packets: 0, tx_packets: 0, rx_errors: 0, tx_errors: 0 } },
    'br-guest': { statistics: { rx_bytes: 0, tx_bytes: guestBytes, rx_packets: 0, tx_packets: 0, rx_errors: 0, tx_errors: 0 } },
  },
  hostapd: {},
});

test('bandwidth extension in an agent: plans from reported traffic go to the AP through its adapter; unchanged plans are not resent; a refused plan is retried; a reboot resends', async () => {
  const timers = new ManualTimers();
  const north = await startNorthPeer();
  const ext = bandwidthExtension({ tickIntervalMs: 10_000, aps: { 'ap-1': { householdReserveKbps: 10_000, publicCapKbps: 6_000 } } });
  const agent = await startAgent({
    gatewayId: 'gw-bw',
    north: { url: north.url },
    configVersion: 2,
    adapters: [
      {
        kind: 'openwrt',
        port: 0,
        aps: [
          {
            device: 'ap-1',
            capacityKbps: 20_000,
            classes: {
              household: { netdevs: ['br-lan'], match: [{ source: '192.168.1.0/24' }] },
              telemedicine: { match: [{ mark: 2 }] },
              public: { netdevs: ['br-guest'], match: [{ source: '10.20.0.0/22' }] },
            },
          },
        ],
      },
    ],
    commandTimeoutMs: 5_000,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
    extensions: [ext],
  });
  let refuse = false;
  const ap = await scriptedAp(agent.adapterPorts().openwrt!, () => refuse);
  const stats = () => agent.stats().extensions.bandwidth as ReturnType<RunningBandwidth['stats']>;
  const tick = async (ms: number) => {
    timers.advance(ms);
    await new Promise((r) => setTimeout(r, 30));
  };
  try {
    await waitFor('AP online', () => agent.devices().some((d) => d.id === 'ap-1' && d.status === 'online'));
    // 8 Mbit/s household and 2 Mbit/s public over 10 s.
    await ap.report(ubus(1_000, 0, 0));
    await waitFor('first reading', () => stats().aps === 1);
    await tick(10_000);
    assert.equal(stats().sent, 0, 'one reading gives no rate yet');
    await ap.report(ubus(1_010, 10_000_000, 2_500_000));
    await new Promise((r) => setTimeout(r, 50));
    await tick(10_000);
    await waitFor('plan acked', () => stats().done === 1);
    assert.match(ap.plans[0]!, / wan class replace dev wan parent 1: classid 1:1 htb rate 20000kbit/);
    assert.match(ap.plans[0]!, /classid 1:30 htb rate 2500kbit ceil 6000kbit/, 'public: 2 Mbit/s served × 1.25 headroom');

    // Same traffic: the same plan, not resent.
    await ap.report(ubus(1_020, 20_000_000, 5_000_000));
    await new Promise((r) => setTimeout(r, 50));
    await tick(10_000);
    assert.equal(stats().sent, 1);

    // Public triples: a new plan, which the AP refuses; retried on the next tick once the AP takes it.
    refuse = true;
    await ap.report(ubus(1_030, 30_000_000, 12_500_000));
    await new Promise((r) => setTimeout(r, 50));
    await tick(10_000);
    await waitFor('refused', () => stats().rejected === 1);
    refuse = false;
    await tick(10_000);
    await waitFor('retried and acked', () => stats().done === 2);
    assert.match(ap.plans.at(-1)!, /classid 1:30 htb rate 6000kbit ceil 6000kbit/);

    // Reboot: the AP lost its qdiscs; the plan in force is sent again though nothing changed.
    await ap.report(ubus(5, 0, 0));
    await new Promise((r) => setTimeout(r, 50));
    await tick(10_000);
    await waitFor('resent after reboot', () => stats().done === 3);

    // The households' enrolments arrive in the desired config (the dashboard's bandwidth.aps): the
    // AP's ceded share follows from the next tick, over the agent's own setting.
    await north.publish(
      topic('configDesired', { gateway: 'gw-bw' }),
      { v: 1, version: 1, config: { bandwidth: { aps: { 'ap-1': { publicCapKbps: 2_000 } } } } },
      true,
    );
    await waitFor('config applied', () => agent.appliedConfig().version === 1);
    await ap.report(ubus(15, 10_000_000, 7_500_000));
    await new Promise((r) => setTimeout(r, 50));
    await tick(10_000);
    await waitFor('plan with the enrolled share', () => stats().done === 4);
    assert.match(ap.plans.at(-1)!, /classid 1:30 htb rate 2000kbit ceil 2000kbit/);
  } finally {
    await ap.client.endAsync(true);
    await agent.stop();
    await north.close();
  }
});
