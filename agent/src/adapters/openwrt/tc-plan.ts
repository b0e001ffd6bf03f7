// A Poste bandwidth plan → the `tc` commands an OpenWrt AP applies (`tc -batch`). The tree on the
// uplink's egress (root `1:` HTB, created once by the AP script with `default 30`):
//
//   1:1  link            rate = ceil = capacity
//   ├─ 1:10 household    rate, ceil ≤ capacity, prio 0   → leaf 110:
//   └─ 1:2  shared       ceil = publicCap (what the household cedes), prio 1
//      ├─ 1:20 telemedicine  prio 1                      → leaf 120:
//      └─ 1:30 public        prio 2 (also unclassified)  → leaf 130:
//
// Every line is a `replace` with fixed ids, so applying the same plan twice changes nothing and a
// new plan changes rates in place (idempotent); the AP script makes the whole batch all-or-nothing.
import type { ApBandwidthPlan } from '@poste/protocol';
import type { OpenWrtApConfig, TcMatch } from './config';

export const CLASS_IDS = { household: '1:10', shared: '1:2', telemedicine: '1:20', public: '1:30' } as const;
/** HTB refuses a zero rate; a class with nothing guaranteed gets this much (it can still borrow). */
const MIN_KBIT = 8;
const QUANTUM = 'quantum 1514';

const kbit = (kbps: number): number => Math.max(MIN_KBIT, Math.round(kbps));

function filterLine(dev: string, n: number, match: TcMatch, flowid: string): string {
  // u32 on both: it is in every OpenWrt kernel (kmod-sched-core) and matches marks as well as sources.
  const handle = `800::${n.toString(16)}`;
  const sel = 'source' in match ? `match ip src ${match.source}` : `match mark 0x${match.mark.toString(16)} 0xffffffff`;
  return `filter replace dev ${dev} parent 1: protocol ip pref 10 handle ${handle} u32 ${sel} flowid ${flowid}`;
}

/** The batch lines for one plan on one AP. Throws if the plan breaks HTB's rules (ceil below rate). */
export function tcCommands(plan: ApBandwidthPlan, ap: Pick<OpenWrtApConfig, 'uplink' | 'leafQdisc' | 'classes'>): string[] {
  const dev = ap.uplink;
  const cap = kbit(plan.capacityKbps);
  const h = { rate: kbit(plan.household.rateKbps), ceil: kbit(Math.min(plan.household.ceilKbps, plan.capacityKbps)) };
  const t = { rate: kbit(plan.telemedicine.rateKbps), ceil: kbit(Math.min(plan.telemedicine.ceilKbps, plan.publicCapKbps)) };
  const p = { rate: kbit(plan.public.rateKbps), ceil: kbit(Math.min(plan.public.ceilKbps, plan.publicCapKbps)) };
  const sharedCeil = kbit(plan.publicCapKbps);
  for (const [name, c] of [
    ['household', h],
    ['telemedicine', t],
    ['public', p],
  ] as const) {
    // The kernel takes a ceil below the rate silently and then cannot keep either; refuse it here.
    if (c.ceil < c.rate) throw new Error(`${name}: ceil ${c.ceil} kbit/s below rate ${c.rate} kbit/s`);
  }
  const lines = [
    `class replace dev ${dev} parent 1: classid 1:1 htb rate ${cap}kbit ceil ${cap}kbit ${QUANTUM}`,
    `class replace dev ${dev} parent 1:1 classid ${CLASS_IDS.household} htb rate ${h.rate}kbit ceil ${h.ceil}kbit prio 0 ${QUANTUM}`,
    `class replace dev ${dev} parent 1:1 classid ${CLASS_IDS.shared} htb rate ${Math.min(t.rate + p.rate, sharedCeil)}kbit ceil ${sharedCeil}kbit prio 1 ${QUANTUM}`,
    `class replace dev ${dev} parent ${CLASS_IDS.shared} classid ${CLASS_IDS.telemedicine} htb rate ${t.rate}kbit ceil ${t.ceil}kbit prio 1 ${QUANTUM}`,
    `class replace dev ${dev} parent ${CLASS_IDS.shared} classid ${CLASS_IDS.public} htb rate ${p.rate}kbit ceil ${p.ceil}kbit prio 2 ${QUANTUM}`,
    `qdisc replace dev ${dev} parent ${CLASS_IDS.household} handle 110: ${ap.leafQdisc}`,
    `qdisc replace dev ${dev} parent ${CLASS_IDS.telemedicine} handle 120: ${ap.leafQdisc}`,
    `qdisc replace dev ${dev} parent ${CLASS_IDS.public} handle 130: ${ap.leafQdisc}`,
  ];
  let n = 1;
  for (const cls of ['household', 'telemedicine', 'public'] as const) {
    for (const m of ap.classes[cls].match) lines.push(filterLine(dev, n++, m, CLASS_IDS[cls]));
  }
  return lines;
}

/**
 * The one-line message the AP script reads from its plan topic: `<id> <dev> <cmd>;<cmd>;…`. One
 * line because `mosquitto_sub` prints one message per line; `;` never occurs in these commands.
 */
export function planMessage(id: string, dev: string, lines: readonly string[]): string {
  return `${id} ${dev} ${lines.join(';')}`;
}
