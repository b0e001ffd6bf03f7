// Bandwidth plans enforced by a real Linux kernel. Namespaces: household, telemedicine and public
// clients behind the AP; the AP's `wan` goes to a modem whose link to the internet is shaped by tc
// (the uplink's capacity); iperf3 servers on the internet side. Each plan is computed by the agent's
// bandwidth extension (`planFor` → the scheduler's `allocateBandwidth`), turned into tc commands by
// the OpenWrt adapter and applied by the on-AP script's `apply` with the real tc, as on an AP.
// Measured with iperf3: each class gets its allocation within 10 %; public never above the ceded
// share; the household gets its reserve the moment it wants it; public uses the slack when the
// household does not (work-conserving). Without namespaces the test fails and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApBandwidthPlan } from '@poste/protocol';
import { OpenWrtAdapterConfigSchema, planFor, planMessage, tcCommands } from '@poste/agent';
import { NamespaceLab } from './harness/netns';

const SCRIPT = fileURLToPath(new URL('../agent/openwrt/poste-ap.sh', import.meta.url));
/** The modem's line rate; the AP shapes just below it so the queue (and the policy) stays on the AP. */
const LINE_KBPS = 20_000;
const POLICY = { capacityKbps: 19_000, householdReserveKbps: 14_000, publicCapKbps: 8_000 };
const TELEMEDICINE_KBPS = 3_000; // a video consultation: a bounded, steady flow
const SECONDS = 6;
/** Seconds left out of each measurement while TCP ramps up (meanwhile HTB rightly lends the idle share). */
const WARMUP_S = 2;

type Class = 'household' | 'telemedicine' | 'public';
const CLIENT: Record<Class, { ns: string; net: string; port: number }> = {
  household: { ns: 'hh', net: '10.1.0', port: 5201 },
  telemedicine: { ns: 'tm', net: '10.2.0', port: 5202 },
  public: { ns: 'pub', net: '10.3.0', port: 5203 },
};

test('bandwidth plans on real qdiscs: HTB from the OpenWrt adapter, traffic from iperf3, measured per class', async (t) => {
  const lab = new NamespaceLab('bw');
  const state = mkdtempSync(join(tmpdir(), 'poste-ap-state-'));
  try {
    for (const n of ['hh', 'tm', 'pub', 'ap', 'modem', 'inet']) await lab.add(n);
    for (const c of Object.values(CLIENT)) {
      await lab.link({ ns: c.ns, dev: 'eth0', addr: `${c.net}.2/24` }, { ns: 'ap', dev: `lan-${c.ns}`, addr: `${c.net}.1/24` });
      await lab.exec(c.ns, ['ip', 'route', 'add', 'default', 'via', `${c.net}.1`]);
    }
    await lab.link({ ns: 'ap', dev: 'wan', addr: '10.9.0.1/30' }, { ns: 'modem', dev: 'from-ap', addr: '10.9.0.2/30' });
    await lab.link({ ns: 'modem', dev: 'line', addr: '10.8.0.1/30' }, { ns: 'inet', dev: 'eth0', addr: '10.8.0.2/30' });
    await lab.exec('ap', ['ip', 'route', 'add', 'default', 'via', '10.9.0.2']);
    await lab.exec('modem', ['ip', 'route', 'add', '10.0.0.0/8', 'via', '10.9.0.1']);
    await lab.exec('modem', ['ip', 'route', 'add', 'default', 'via', '10.8.0.2']);
    await lab.exec('inet', ['ip', 'route', 'add', 'default', 'via', '10.8.0.1']);
    for (const n of ['ap', 'modem']) await lab.exec(n, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    // The uplink's capacity: the modem's line towards the internet.
    await lab.exec('modem', ['tc', 'qdisc', 'add', 'dev', 'line', 'root', 'handle', '1:', 'htb', 'default', '1']);
    await lab.exec('modem', ['tc', 'class', 'add', 'dev', 'line', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${LINE_KBPS}kbit`]);

    // fq_codel is OpenWrt's default leaf; a kernel built without it (some CI VMs) gets pfifo, said here.
    const leafQdisc = await lab
      .exec('modem', ['tc', 'qdisc', 'add', 'dev', 'from-ap', 'root', 'fq_codel'])
      .then(() => 'fq_codel' as const)
      .catch(() => 'pfifo' as const);
    t.diagnostic(`leaf qdisc: ${leafQdisc}${leafQdisc === 'pfifo' ? ' (this kernel has no sch_fq_codel)' : ''}`);

    const adapter = OpenWrtAdapterConfigSchema.parse({
      kind: 'openwrt',
      aps: [
        {
          device: 'ap-lab',
          capacityKbps: POLICY.capacityKbps,
          uplink: 'wan',
          leafQdisc,
          classes: {
            household: { match: [{ source: '10.1.0.0/24' }] },
            telemedicine: { match: [{ source: '10.2.0.0/24' }] },
            public: { match: [{ source: '10.3.0.0/24' }] },
          },
        },
      ],
    });
    const ap = adapter.aps[0]!;
    let planSeq = 0;
    const apply = async (plan: ApBandwidthPlan, extra: string[] = []): Promise<{ id: string; outcome: string; detail?: string }> => {
      const line = planMessage(`plan-${++planSeq}`, 'wan', [...tcCommands(plan, ap), ...extra]);
      return JSON.parse(await lab.exec('ap', ['sh', SCRIPT, 'apply', '-s', state], `${line}\n`));
    };

    for (const c of Object.values(CLIENT)) lab.spawn('inet', ['iperf3', '-s', '-p', String(c.port)]);
    await new Promise((r) => setTimeout(r, 500));

    /** Runs the active classes at once; household and public as greedy TCP (4 streams each), telemedicine as a steady UDP flow. kbit/s received. */
    const measure = async (active: Class[]): Promise<Record<Class, number>> => {
      const runs = active.map(async (cls) => {
        const c = CLIENT[cls];
        const args = ['iperf3', '-c', '10.8.0.2', '-p', String(c.port), '-t', String(SECONDS + WARMUP_S), '-O', String(WARMUP_S), '-J'];
        // Households and public clients run several flows at once (browsers, streams): 4 TCP streams keep a class backlogged.
        if (cls === 'telemedicine') args.push('-u', '-b', `${TELEMEDICINE_KBPS}k`, '-l', '1200');
        else args.push('-P', '4');
        const out = JSON.parse(await lab.exec(c.ns, args)) as {
          end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number; lost_percent?: number } };
        };
        const bps =
          cls === 'telemedicine'
            ? (out.end.sum?.bits_per_second ?? 0) * (1 - (out.end.sum?.lost_percent ?? 0) / 100)
            : (out.end.sum_received?.bits_per_second ?? 0);
        return [cls, bps / 1_000] as const;
      });
      const got: Record<Class, number> = { household: 0, telemedicine: 0, public: 0 };
      for (const [cls, kbps] of await Promise.all(runs)) got[cls] = kbps;
      return got;
    };
    const within = (got: number, want: number, what: string): void =>
      assert.ok(
        Math.abs(got - want) <= 0.1 * want,
        `${what}: measured ${got.toFixed(0)} kbit/s, allocation ${want.toFixed(0)} kbit/s (±10 %)`,
      );
    const rows: string[] = [];
    const row = (name: string, plan: ApBandwidthPlan, got: Record<Class, number>): void => {
      const line = `${name}: plan h/t/p ${plan.household.rateKbps}/${plan.telemedicine.rateKbps}/${plan.public.rateKbps} kbit/s → measured ${got.household.toFixed(0)}/${got.telemedicine.toFixed(0)}/${got.public.toFixed(0)}`;
      rows.push(line);
      t.diagnostic(line);
    };

    // 1. Everyone busy: the plan the agent computes from that demand, each class at its allocation.
    const busy = planFor(POLICY, { household: POLICY.capacityKbps, telemedicine: TELEMEDICINE_KBPS, public: POLICY.capacityKbps });
    assert.deepEqual(
      [busy.household.rateKbps, busy.telemedicine.rateKbps, busy.public.rateKbps],
      [14_000, 3_000, 2_000],
      'reserve first, telemedicine, then public within what is left',
    );
    assert.equal((await apply(busy)).outcome, 'done');
    const g1 = await measure(['household', 'telemedicine', 'public']);
    row('all busy', busy, g1);
    within(g1.household, busy.household.rateKbps, 'household');
    within(g1.telemedicine, busy.telemedicine.rateKbps, 'telemedicine');
    // HTB is work-conserving: when the household's TCP leaves part of its rate unused for a moment
    // (a loaded machine), public may borrow exactly that much, never more.
    const householdUnused = Math.max(0, busy.household.rateKbps - g1.household);
    assert.ok(
      g1.public >= 0.9 * busy.public.rateKbps && g1.public <= 1.1 * busy.public.rateKbps + householdUnused,
      `public: measured ${g1.public.toFixed(0)} kbit/s, allocation ${busy.public.rateKbps} kbit/s (−10 %, +10 % + the ${householdUnused.toFixed(0)} kbit/s the household left unused)`,
    );

    // 2. The household is idle: the new plan lets public use the slack, up to the ceded share.
    const idle = planFor(POLICY, { household: 0, telemedicine: TELEMEDICINE_KBPS, public: POLICY.capacityKbps });
    assert.equal((await apply(idle)).outcome, 'done');
    const g2 = await measure(['telemedicine', 'public']);
    row('household idle', idle, g2);
    const publicShare = POLICY.publicCapKbps - TELEMEDICINE_KBPS; // what the allocation gives public here
    within(g2.public, publicShare, 'public using the slack');
    within(g2.telemedicine, TELEMEDICINE_KBPS, 'telemedicine');
    assert.ok(g2.public > 2 * busy.public.rateKbps, 'work-conserving: public takes the idle household share');
    assert.ok(g2.telemedicine + g2.public <= POLICY.publicCapKbps * 1.05, 'never above the ceded share');

    // 3. The household wants its reserve back before the next plan: HTB gives it at once.
    const g3 = await measure(['household', 'telemedicine', 'public']);
    row('household returns (same plan)', idle, g3);
    assert.ok(g3.household >= 0.9 * POLICY.householdReserveKbps, `household keeps its reserve: ${g3.household.toFixed(0)} kbit/s`);
    assert.ok(g3.telemedicine + g3.public <= POLICY.publicCapKbps * 1.05);

    // 4. Public alone on an empty link: capped at the ceded share, however much is free.
    const alone = planFor(POLICY, { household: 0, telemedicine: 0, public: POLICY.capacityKbps });
    assert.equal((await apply(alone)).outcome, 'done');
    const g4 = await measure(['public']);
    row('public alone', alone, g4);
    within(g4.public, POLICY.publicCapKbps, 'public alone, at the ceded share');

    // 5. A plan the kernel refuses half-way: rejected, and the previous plan is back in force.
    const refused = await apply({ ...busy, public: { rateKbps: 1_000, ceilKbps: 8_000 } }, [
      'qdisc replace dev nosuch parent 1:30 handle 130: pfifo',
    ]);
    assert.equal(refused.outcome, 'rejected');
    assert.match(refused.detail ?? '', /nosuch|Cannot find device/);
    const classes = await lab.exec('ap', ['tc', 'class', 'show', 'dev', 'wan', 'classid', '1:30']);
    assert.match(
      classes,
      new RegExp(`rate ${alone.public.rateKbps / 1_000}Mbit`),
      `public's class is back at the plan in force: ${classes.trim()}`,
    );
    // Applying the plan in force again changes nothing (idempotent).
    assert.equal((await apply(alone)).outcome, 'done');
    console.log(
      `bandwidth-netns figures (leaf ${leafQdisc}, line ${LINE_KBPS} kbit/s, AP capacity ${POLICY.capacityKbps}):\n  ${rows.join('\n  ')}`,
    );
  } finally {
    await lab.remove();
    rmSync(state, { recursive: true, force: true });
  }
});
