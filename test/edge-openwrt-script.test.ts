// The on-AP script (agent/openwrt/poste-ap.sh) against recorded ubus output: a fake `ubus` on PATH
// answers with the OpenWrt adapter's fixtures, a fake `tc` records what it is asked and keeps a
// list of the devices it has; mosquitto carries the messages; the agent runs the openwrt adapter
// in `url` mode. The real tc runs the same script's `apply` in test/bandwidth-netns.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { ApBandwidthPlan, LocalTelemetry } from '@poste/protocol';
import { startAgent } from '@poste/agent';
import { startMosquitto } from './harness/mosquitto';
import { waitFor } from './harness/free-port';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../agent/openwrt/poste-ap.sh', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../agent/src/adapters/openwrt/fixtures', import.meta.url));

/** A fake ubus answering from the fixtures; `phase` picks the recorded set (normal, reboot). */
function fakeUbus(dir: string): void {
  writeFileSync(
    join(dir, 'ubus'),
    `#!/bin/sh
phase=$(cat '${dir}/phase' 2>/dev/null || echo normal)
[ "$1" = call ] || { echo "fake ubus: only call" >&2; exit 2; }
case "$2 $3" in
  'system info') [ "$phase" = reboot ] && cat '${FIXTURES}/system-info-after-reboot.json' || cat '${FIXTURES}/system-info.json' ;;
  'network.device status') [ "$phase" = reboot ] && cat '${FIXTURES}/network-device-status-after-reboot.json' || cat '${FIXTURES}/network-device-status.json' ;;
  hostapd.wlan[0-2]' get_clients') cat "${FIXTURES}/$(echo "$2" | tr . -)-get_clients.json" ;;
  *) echo 'Command failed: Not found' >&2; exit 4 ;;
esac
`,
  );
  chmodSync(join(dir, 'ubus'), 0o755);
}

/**
 * A fake tc: logs every call and every batch; knows the devices listed in devices.txt; keeps the
 * root qdisc it was asked to add. It answers the way tc does for a missing device.
 */
function fakeTc(dir: string): void {
  writeFileSync(join(dir, 'devices.txt'), 'wan\n');
  writeFileSync(
    join(dir, 'tc'),
    `#!/bin/sh
log='${dir}/tc.log'
echo "tc $*" >> "$log"
has() { grep -qx "$1" '${dir}/devices.txt'; }
case "$1 $2" in
  'qdisc show') has "$4" || { echo "Cannot find device \\"$4\\"" >&2; exit 1; }; [ -f '${dir}/root.'"$4" ] && echo "qdisc htb 1: root refcnt 2 r2q 10 default 0x30" ; exit 0 ;;
  'qdisc add') has "$4" || { echo "Cannot find device \\"$4\\"" >&2; exit 1; }; touch '${dir}/root.'"$4"; exit 0 ;;
  'qdisc del') rm -f '${dir}/root.'"$4"; exit 0 ;;
  '-batch '*) cat "$2" >> "$log"; n=0
     while read -r kind verb d dev rest; do n=$((n+1)); has "$dev" || { echo "Cannot find device \\"$dev\\""; echo "Command failed $2:$n"; exit 1; } >&2; done < "$2"; exit 0 ;;
esac
exit 0
`,
  );
  chmodSync(join(dir, 'tc'), 0o755);
}

const PLAN: ApBandwidthPlan = {
  capacityKbps: 20_000,
  publicCapKbps: 6_000,
  household: { rateKbps: 12_000, ceilKbps: 20_000 },
  telemedicine: { rateKbps: 2_000, ceilKbps: 6_000 },
  public: { rateKbps: 4_000, ceilKbps: 6_000 },
};

test('poste-ap.sh on recorded ubus output: reports become AP readings, plans become tc batches acked done or rejected, a reboot restarts the counters, a dead AP goes offline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-ap-'));
  fakeUbus(dir);
  fakeTc(dir);
  const broker = await startMosquitto();
  const agent = await startAgent({
    gatewayId: 'gw-ap-script',
    north: { url: broker.url },
    configVersion: 2,
    adapters: [
      {
        kind: 'openwrt',
        url: broker.url,
        aps: [
          {
            device: 'ap-7',
            capacityKbps: 20_000,
            classes: {
              household: { netdevs: ['br-lan'], wifi: ['wlan0'], match: [{ source: '192.168.1.0/24' }] },
              telemedicine: { netdevs: ['br-tele'], wifi: ['wlan2'], match: [{ mark: 0x20 }] },
              public: { netdevs: ['br-guest'], wifi: ['wlan1'], match: [{ source: '10.20.0.0/22' }] },
            },
          },
        ],
      },
    ],
    commandTimeoutMs: 5_000,
    logger: pino({ level: 'silent' }),
    dimming: { enabled: false },
    bandwidth: { enabled: false },
  });
  const readings: Extract<LocalTelemetry, { kind: 'ap' }>[] = [];
  agent.onTelemetry((r) => {
    if (r.kind === 'ap') readings.push(r);
  });
  const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
  const common = ['-h', '127.0.0.1', '-p', String(broker.port), '-i', 'ap-7', '-w', 'wlan0 wlan1 wlan2', '-s', join(dir, 'state')];
  const plans = spawn('sh', [SCRIPT, 'plans', ...common], { env, detached: true, stdio: 'ignore' });
  try {
    await waitFor('AP online from its status topic', () => agent.devices().some((d) => d.id === 'ap-7' && d.status === 'online'), 10_000);

    await run('sh', [SCRIPT, 'publish', '-1', ...common], { env });
    await waitFor('reading', () => readings.length === 1);
    assert.equal(readings[0]!.uptime, 86_342);
    assert.deepEqual(readings[0]!.clients, { household: 2, telemedicine: 1, public: 3 });
    assert.equal(readings[0]!.bytes.household, 3_912_458_113 + 28_455_310_092);

    const first = await agent.commandDevice('ap-7', { action: 'bandwidthPlan', plan: PLAN });
    assert.equal(first.outcome, 'done', first.detail);
    const again = await agent.commandDevice('ap-7', { action: 'bandwidthPlan', plan: PLAN });
    assert.equal(again.outcome, 'done', 'the same plan twice');
    const log = readFileSync(join(dir, 'tc.log'), 'utf8');
    assert.equal(
      log.match(/^tc qdisc add dev wan root handle 1: htb default 30$/gm)?.length,
      1,
      'the root is added once, then only replaced into',
    );
    assert.equal(
      log.match(/^class replace dev wan parent 1:2 classid 1:30 htb rate 4000kbit ceil 6000kbit prio 2 quantum 1514$/gm)?.length,
      2,
    );
    assert.match(log, /^filter replace dev wan parent 1: protocol ip pref 10 handle 800::2 u32 match mark 0x20 0xffffffff flowid 1:20$/m);
    const inForce = readFileSync(join(dir, 'state', 'plan.tc'), 'utf8');

    // The uplink disappears (PPPoE down): tc refuses, the AP acks rejected with tc's words, the plan file in force is unchanged.
    writeFileSync(join(dir, 'devices.txt'), 'lan\n');
    const refused = await agent.commandDevice('ap-7', {
      action: 'bandwidthPlan',
      plan: { ...PLAN, public: { rateKbps: 3_000, ceilKbps: 6_000 } },
    });
    assert.equal(refused.outcome, 'rejected');
    assert.match(refused.detail ?? '', /Cannot find device wan/);
    assert.equal(readFileSync(join(dir, 'state', 'plan.tc'), 'utf8'), inForce);

    // Reboot mid-day: counters restart, never negative.
    writeFileSync(join(dir, 'phase'), 'reboot');
    await run('sh', [SCRIPT, 'publish', '-1', ...common], { env });
    await waitFor('reading after reboot', () => readings.length === 2);
    assert.equal(readings[1]!.uptime, 95);
    assert.equal(readings[1]!.bytes.household, 50_211 + 180_233);

    // The AP dies (power cut kills the subscriber): the broker publishes its will, the AP goes offline.
    process.kill(-plans.pid!, 'SIGKILL');
    await waitFor('AP offline', () => agent.devices().find((d) => d.id === 'ap-7')?.status === 'offline', 10_000);
  } finally {
    try {
      process.kill(-plans.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await agent.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
