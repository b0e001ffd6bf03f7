import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type MqttClient } from 'mqtt';
import { ApBandwidthPlanSchema, type ApBandwidthPlan, type LocalTelemetry } from '@poste/protocol';
import { startAgent, type Agent } from '../../core/agent';
import { ManualTimers, silentLogger, startNorthPeer, waitFor, type NorthPeer } from '../../core/test-support';
import { OpenWrtApConfigSchema } from './config';
import { UnwrappedCounter } from './counters';
import { planMessage, tcCommands } from './tc-plan';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** The document poste-ap.sh `report` prints: the three ubus answers side by side. */
const report = (system: string, devices: string): string =>
  `{"system":${fixture(system)},"devices":${fixture(devices)},"hostapd":{"wlan0":${fixture('hostapd-wlan0-get_clients.json')},"wlan1":${fixture('hostapd-wlan1-get_clients.json')},"wlan2":${fixture('hostapd-wlan2-get_clients.json')}}}`;

const AP_CONFIG = {
  device: 'ap-7',
  capacityKbps: 20_000,
  uplink: 'wan',
  classes: {
    household: { netdevs: ['br-lan'], wifi: ['wlan0'], match: [{ source: '192.168.1.0/24' }] },
    telemedicine: { netdevs: ['br-tele'], wifi: ['wlan2'], match: [{ source: '10.10.0.0/24' }, { mark: 0x20 }] },
    public: { netdevs: ['br-guest'], wifi: ['wlan1'], match: [{ source: '10.20.0.0/22' }] },
  },
};

const PLAN: ApBandwidthPlan = {
  capacityKbps: 20_000,
  publicCapKbps: 6_000,
  household: { rateKbps: 12_000, ceilKbps: 20_000 },
  telemedicine: { rateKbps: 2_000, ceilKbps: 6_000 },
  public: { rateKbps: 4_000, ceilKbps: 6_000 },
};

test('tc commands: HTB classes with rate/ceil, fq_codel leaves, u32 filters by source and mark; replace-only, so idempotent', () => {
  const lines = tcCommands(PLAN, OpenWrtApConfigSchema.parse(AP_CONFIG));
  assert.deepEqual(lines, [
    'class replace dev wan parent 1: classid 1:1 htb rate 20000kbit ceil 20000kbit quantum 1514',
    'class replace dev wan parent 1:1 classid 1:10 htb rate 12000kbit ceil 20000kbit prio 0 quantum 1514',
    'class replace dev wan parent 1:1 classid 1:2 htb rate 6000kbit ceil 6000kbit prio 1 quantum 1514',
    'class replace dev wan parent 1:2 classid 1:20 htb rate 2000kbit ceil 6000kbit prio 1 quantum 1514',
    'class replace dev wan parent 1:2 classid 1:30 htb rate 4000kbit ceil 6000kbit prio 2 quantum 1514',
    'qdisc replace dev wan parent 1:10 handle 110: fq_codel',
    'qdisc replace dev wan parent 1:20 handle 120: fq_codel',
    'qdisc replace dev wan parent 1:30 handle 130: fq_codel',
    'filter replace dev wan parent 1: protocol ip pref 10 handle 800::1 u32 match ip src 192.168.1.0/24 flowid 1:10',
    'filter replace dev wan parent 1: protocol ip pref 10 handle 800::2 u32 match ip src 10.10.0.0/24 flowid 1:20',
    'filter replace dev wan parent 1: protocol ip pref 10 handle 800::3 u32 match mark 0x20 0xffffffff flowid 1:20',
    'filter replace dev wan parent 1: protocol ip pref 10 handle 800::4 u32 match ip src 10.20.0.0/22 flowid 1:30',
  ]);
  assert.ok(
    lines.every((l) => / replace /.test(l)),
    'only replace: the same plan twice changes nothing',
  );
  assert.ok(
    lines.every((l) => !l.includes(';')),
    'the plan line separator never occurs in a command',
  );
  assert.equal(planMessage('p-1', 'wan', lines.slice(0, 2)), `p-1 wan ${lines[0]};${lines[1]}`);
  // A zero rate becomes HTB's minimum (it still borrows); the protocol refuses a ceil below the rate.
  const idle = tcCommands({ ...PLAN, public: { rateKbps: 0, ceilKbps: 6_000 } }, OpenWrtApConfigSchema.parse(AP_CONFIG));
  assert.match(idle[4]!, /classid 1:30 htb rate 8kbit ceil 6000kbit/);
  const bad = ApBandwidthPlanSchema.safeParse({ ...PLAN, public: { rateKbps: 4_000, ceilKbps: 1_000 } });
  assert.deepEqual(bad.error?.issues[0]?.path, ['public', 'ceilKbps']);
  const overCap = ApBandwidthPlanSchema.safeParse({ ...PLAN, household: { rateKbps: 15_000, ceilKbps: 20_000 } });
  assert.deepEqual(
    ApBandwidthPlanSchema.safeParse({ ...PLAN, public: { rateKbps: 5_000, ceilKbps: 6_000 } }).error?.issues[0]?.path,
    ['public', 'rateKbps'],
    'telemedicine + public above the ceded share are refused',
  );
  assert.deepEqual(overCap.error?.issues[0]?.path, ['household', 'rateKbps'], 'rates above capacity are refused');
});

test('counters: a 32-bit wrap keeps counting up; a reboot restarts at the raw value; never a negative delta', () => {
  const c = new UnwrappedCounter();
  assert.equal(c.update(4_294_967_000, false), 4_294_967_000);
  assert.equal(c.update(500, false), 4_294_967_296 + 500, 'wrapped');
  assert.equal(c.wraps, 1);
  assert.equal(c.update(900, true), 900, 'reboot: counting from the new boot');
  const big = new UnwrappedCounter();
  big.update(10_000_000_000, false);
  assert.equal(big.update(100, false), 10_000_000_100, 'a 64-bit counter that drops without a reboot continues from where it was');
});

async function agentWithOpenWrt(
  timers: ManualTimers,
): Promise<{ agent: Agent; north: NorthPeer; port: number; readings: LocalTelemetry[] }> {
  const north = await startNorthPeer();
  const agent = await startAgent({
    gatewayId: 'gw-openwrt',
    north: { url: north.url },
    configVersion: 2,
    adapters: [{ kind: 'openwrt', port: 0, staleAfterMs: 300_000, aps: [AP_CONFIG] }],
    commandTimeoutMs: 5_000,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
    bandwidth: { enabled: false },
  });
  const readings: LocalTelemetry[] = [];
  agent.onTelemetry((r) => readings.push(r));
  return { agent, north, port: agent.adapterPorts().openwrt!, readings };
}

/** The AP's side as the script speaks it: reports, status, and plans answered by `answer`. */
async function fakeAp(port: number, answer: (line: string) => string | null): Promise<{ client: MqttClient; plans: string[] }> {
  const client = connect(`mqtt://127.0.0.1:${port}`, {
    clientId: 'poste-ap-ap-7-plans',
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: { topic: 'poste-ap/ap-7/status', payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const plans: string[] = [];
  await client.subscribeAsync('poste-ap/ap-7/plan', { qos: 1 });
  client.on('message', (_t, p) => {
    const line = p.toString('utf8');
    plans.push(line);
    const ack = answer(line);
    if (ack !== null) void client.publishAsync('poste-ap/ap-7/ack', ack, { qos: 1 });
  });
  await client.publishAsync('poste-ap/ap-7/status', 'online', { qos: 1, retain: true });
  return { client, plans };
}

type ApTelemetry = Extract<LocalTelemetry, { kind: 'ap' }>;

test('openwrt adapter in an agent: ubus reports → AP readings; wrap and reboot mid-day never give negative bytes; plans acked or refused; silence = offline', async () => {
  const timers = new ManualTimers();
  const { agent, north, port, readings } = await agentWithOpenWrt(timers);
  const ap = await fakeAp(port, (line) => {
    const id = line.split(' ')[0];
    // As poste-ap.sh answers: done, or rejected with tc's error when the batch failed (ids refuse-*).
    return id?.startsWith('refuse')
      ? `{"id":"${id}","outcome":"rejected","detail":"RTNETLINK answers: Invalid argument"}`
      : `{"id":"${id}","outcome":"done"}`;
  });
  try {
    await waitFor('born', () => agent.devices().some((d) => d.id === 'ap-7' && d.status === 'online' && d.kind === 'ap'));

    await ap.client.publishAsync('poste-ap/ap-7/report', report('system-info.json', 'network-device-status.json'));
    await waitFor('first reading', () => readings.length === 1);
    const r1 = readings[0] as ApTelemetry;
    assert.equal(r1.uptime, 86_342);
    assert.equal(r1.capacityKbps, 20_000);
    assert.deepEqual(r1.clients, { household: 2, telemedicine: 1, public: 3 });
    assert.deepEqual(r1.bytes, {
      household: 3_912_458_113 + 28_455_310_092,
      telemedicine: 221_733_901 + 1_900_112_450,
      public: 1_204_771_602 + 4_123_311_874,
    });
    assert.equal(r1.load1, 0.16);
    assert.equal(r1.memAvailableBytes, 58_699_776);

    // Half an hour later br-guest's tx counter wrapped (a 32-bit driver): public bytes still grow.
    await ap.client.publishAsync('poste-ap/ap-7/report', report('system-info-later.json', 'network-device-status-wrapped.json'));
    await waitFor('second reading', () => readings.length === 2);
    const r2 = readings[1] as ApTelemetry;
    assert.equal(r2.bytes.public - r1.bytes.public, 1_000 + (2 ** 32 - 4_123_311_874) + 12_001, 'rx +1000, tx across the wrap');
    assert.equal(agent.stats().adapters.openwrt?.transport.counterWraps, 1);
    assert.equal(r2.bytes.household, r1.bytes.household);

    // Reboot mid-day: uptime and counters restart; the reading says so, no negative bytes anywhere.
    await ap.client.publishAsync(
      'poste-ap/ap-7/report',
      report('system-info-after-reboot.json', 'network-device-status-after-reboot.json'),
    );
    await waitFor('third reading', () => readings.length === 3);
    const r3 = readings[2] as ApTelemetry;
    assert.equal(r3.uptime, 95);
    assert.deepEqual(r3.bytes, { household: 50_211 + 180_233, telemedicine: 3_011 + 12_011, public: 20_011 + 90_122 });
    assert.equal(agent.stats().adapters.openwrt?.transport.reboots, 1);

    // A plan: sent as one tc batch line on the plan topic, acked done by the AP.
    const done = await agent.commandDevice('ap-7', { action: 'bandwidthPlan', plan: PLAN }, { id: 'plan-1' });
    assert.equal(done.outcome, 'done');
    assert.match(ap.plans[0]!, /^plan-1 wan class replace dev wan parent 1: classid 1:1 htb rate 20000kbit/);
    // A plan the AP refuses (tc failed; the AP script restored the previous one): rejected with tc's words.
    const refused = await agent.commandDevice('ap-7', { action: 'bandwidthPlan', plan: PLAN }, { id: 'refuse-1' });
    assert.equal(refused.outcome, 'rejected');
    assert.equal(refused.detail, 'RTNETLINK answers: Invalid argument');
    // A luminaire command is refused by the adapter itself.
    assert.equal((await agent.commandDevice('ap-7', { action: 'dim', level: 10 })).outcome, 'rejected');

    // Malformed report: refused and counted, the AP kept.
    await ap.client.publishAsync('poste-ap/ap-7/report', '{"system":{"uptime":"soon"}}');
    await waitFor('malformed counted', () => agent.stats().adapters.openwrt?.transport.malformed === 1);
    assert.equal(agent.devices().find((d) => d.id === 'ap-7')?.status, 'online');

    // No report for staleAfterMs: offline.
    timers.advance(300_000);
    await waitFor('stale → offline', () => agent.devices().find((d) => d.id === 'ap-7')?.status === 'offline');
  } finally {
    await ap.client.endAsync(true);
    await agent.stop();
    await north.close();
  }
});
