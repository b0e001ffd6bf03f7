import type { ApBandwidthPlan, ApReading, TrafficClass } from '@poste/protocol';
import { localMinuteOfDay } from './local-program';
import { mulberry32, type Prng } from './prng';
import type { ApModelSnapshot } from './snapshot';
import { TelemedicineSessions } from './telemedicine';

export const TRAFFIC_CLASSES: readonly TrafficClass[] = ['household', 'telemedicine', 'public'];

/**
 * How an HTB tree shares the uplink under a plan (what `tc` on a real AP does, see the OpenWrt
 * adapter): each class first gets its demand up to its guaranteed rate; what is left of the link
 * is lent in priority order (household, telemedicine, public) up to each class's ceiling, and
 * telemedicine + public together never above `publicCapKbps`. Work-conserving: a class that does
 * not use its rate leaves it to the others.
 */
export function serveUnderPlan(plan: ApBandwidthPlan, demandKbps: Record<TrafficClass, number>): Record<TrafficClass, number> {
  const served = perClass(0);
  let left = plan.capacityKbps;
  let sharedLeft = plan.publicCapKbps;
  for (const c of TRAFFIC_CLASSES) {
    const s = Math.min(Math.max(0, demandKbps[c]), plan[c].rateKbps, left, c === 'household' ? Infinity : sharedLeft);
    served[c] = s;
    left -= s;
    if (c !== 'household') sharedLeft -= s;
  }
  for (const c of TRAFFIC_CLASSES) {
    const extra = Math.max(
      0,
      Math.min(Math.max(0, demandKbps[c]) - served[c], plan[c].ceilKbps - served[c], left, c === 'household' ? Infinity : sharedLeft),
    );
    served[c] += extra;
    left -= extra;
    if (c !== 'household') sharedLeft -= extra;
  }
  return served;
}

/**
 * The plan an AP runs before the agent sends one (its standing configuration): the household's
 * reserve guaranteed, the rest of the ceded share split evenly between telemedicine and public,
 * ceilings as the policy says. Static: it does not follow demand; the agent's plans do.
 */
export function bootPlan(p: Pick<ApParams, 'capacityKbps' | 'householdReserveKbps' | 'publicCapKbps'>): ApBandwidthPlan {
  const cap = Math.max(1, p.capacityKbps);
  const publicCap = Math.min(Math.max(0, p.publicCapKbps), cap);
  const household = Math.min(Math.max(0, p.householdReserveKbps), cap);
  const sharedRate = Math.min(publicCap, cap - household);
  return {
    capacityKbps: cap,
    publicCapKbps: publicCap,
    household: { rateKbps: household, ceilKbps: cap },
    telemedicine: { rateKbps: sharedRate / 2, ceilKbps: publicCap },
    public: { rateKbps: sharedRate / 2, ceilKbps: publicCap },
  };
}

export interface ApParams {
  capacityKbps: number;
  householdReserveKbps: number;
  publicCapKbps: number;
  /** Demand at the peak of each class's daily curve, kbit/s. */
  peakDemandKbps: Record<TrafficClass, number>;
  /** Associated clients at the peak of each class's daily curve. */
  peakClients: Record<TrafficClass, number>;
  utcOffsetMinutes: number;
}

export type ApFault = 'apDown';

/** Circular gaussian bump over the 24 h day. */
function bump(hour: number, centre: number, width: number): number {
  let d = Math.abs(hour - centre);
  if (d > 12) d = 24 - d;
  return Math.exp(-(d * d) / (2 * width * width));
}

/**
 * Share (0..1) of each class's peak demand at a local hour: households peak in the evening with a
 * smaller morning bump; public use follows the day and early evening; telemedicine follows clinic
 * hours (morning and afternoon sessions).
 */
export function diurnalShare(cls: TrafficClass, localHour: number): number {
  switch (cls) {
    case 'household':
      return Math.min(1, 0.12 + 0.35 * bump(localHour, 7.5, 1.5) + 0.88 * bump(localHour, 21, 2.2));
    case 'public':
      return Math.min(1, 0.04 + 0.6 * bump(localHour, 12, 3) + 0.85 * bump(localHour, 19.5, 1.8));
    case 'telemedicine':
      return Math.min(1, 0.01 + 0.95 * bump(localHour, 10, 1.8) + 0.75 * bump(localHour, 15, 1.8));
  }
}

function perClass(v: number): Record<TrafficClass, number> {
  return { household: v, telemedicine: v, public: v };
}

/** Mean time between two backhaul dips, and how long one lasts (a DSL/LTE modem's link degrading). */
const BACKHAUL_DIP_EVERY_MS = 90 * 60_000;
const BACKHAUL_DIP_LASTS_MS = 5 * 60_000;

/** Seconds the household's reserve was measured and honoured: since boot (reported) and in total (ground truth). */
export interface ReserveSeconds {
  measuredS: number;
  honouredS: number;
  totalMeasuredS: number;
  totalHonouredS: number;
}

/** A second stream, for sessions and backhaul dips, so the classes' demand draws stay what they were. */
const auxSeed = (rng: Prng) => (rng.state() ^ 0x7e1e_3ed1) >>> 0;

/**
 * One OpenWrt access point. Pure and deterministic given its Prng: demand per class at each step
 * (diurnal curve × seeded noise), served throughput as its HTB tree shares the link under the plan
 * in force (the agent's last `bandwidthPlan`, else the boot plan), byte counters
 * integrated from served kbit/s. While down it serves nothing and reports nothing; coming back up
 * is a reboot (uptime and kernel byte counters restart at 0).
 */
export class ApModel {
  readonly params: ApParams;
  nowMs: number;
  bootMs: number;
  down = false;
  /** Demand and served rate in force during the last step, kbit/s. */
  demandKbps = perClass(0);
  servedKbps = perClass(0);
  clients = perClass(0);
  /** Cumulative bytes since boot (float inside; reported floored). */
  private readonly bytes = perClass(0);
  /** Bytes served since the model was created, never reset (ground truth for Wi-Fi accounting). */
  readonly groundTruthBytes = perClass(0);
  /** The plan in force: the agent's last one, or the boot plan. */
  plan: ApBandwidthPlan;
  plansApplied = 0;
  /** Telemedicine consultations: the class's demand, clients and per-session bytes. */
  readonly sessions: TelemedicineSessions;
  /** Share of the uplink's capacity available now: 1, or less during a backhaul dip. */
  linkFactor = 1;
  readonly reserve: ReserveSeconds = { measuredS: 0, honouredS: 0, totalMeasuredS: 0, totalHonouredS: 0 };
  private rng: Prng;
  private aux: Prng;

  constructor(params: ApParams, startMs: number, rng: Prng) {
    this.params = params;
    this.nowMs = startMs;
    this.bootMs = startMs;
    this.rng = rng;
    this.aux = mulberry32(auxSeed(rng));
    this.plan = bootPlan(params);
    const concurrent = Math.max(0, params.peakClients.telemedicine);
    this.sessions = new TelemedicineSessions(concurrent, params.peakDemandKbps.telemedicine / Math.max(1, concurrent));
  }

  /** Puts a plan in force, as `tc` would; null when taken, else why it is refused. */
  applyPlan(plan: ApBandwidthPlan): string | null {
    if (plan.capacityKbps > this.params.capacityKbps + 1) {
      return `plan capacity ${plan.capacityKbps} kbit/s is above this AP's uplink (${this.params.capacityKbps} kbit/s)`;
    }
    this.plan = plan;
    this.plansApplied++;
    return null;
  }

  /** Counters, demand and PRNG state: everything a restart must keep (see snapshot.ts). */
  snapshot(): ApModelSnapshot {
    return {
      nowMs: this.nowMs,
      bootMs: this.bootMs,
      down: this.down,
      demandKbps: { ...this.demandKbps },
      servedKbps: { ...this.servedKbps },
      clients: { ...this.clients },
      bytes: { ...this.bytes },
      groundTruthBytes: { ...this.groundTruthBytes },
      rng: this.rng.state(),
      plan: structuredClone(this.plan),
      auxRng: this.aux.state(),
      linkFactor: this.linkFactor,
      sessions: this.sessions.snapshot(),
      reserve: { ...this.reserve },
    };
  }

  restore(s: ApModelSnapshot): void {
    this.nowMs = s.nowMs;
    this.bootMs = s.bootMs;
    this.down = s.down;
    this.demandKbps = { ...s.demandKbps };
    this.servedKbps = { ...s.servedKbps };
    this.clients = { ...s.clients };
    Object.assign(this.bytes, s.bytes);
    Object.assign(this.groundTruthBytes, s.groundTruthBytes);
    this.rng = mulberry32(s.rng);
    this.plan = s.plan !== undefined ? structuredClone(s.plan) : bootPlan(this.params);
    // Checkpoints from before sessions: a fresh second stream, no sessions, no reserve seconds yet.
    this.aux = mulberry32(s.auxRng ?? auxSeed(this.rng));
    this.linkFactor = s.linkFactor ?? 1;
    if (s.sessions) this.sessions.restore(s.sessions);
    if (s.reserve) Object.assign(this.reserve, s.reserve);
  }

  injectFault(_f: ApFault): boolean {
    if (this.down) return false;
    this.down = true;
    this.demandKbps = perClass(0);
    this.servedKbps = perClass(0);
    this.clients = perClass(0);
    this.sessions.cut(this.nowMs);
    return true;
  }

  clearFault(_f: ApFault): boolean {
    if (!this.down) return false;
    this.down = false;
    this.bootMs = this.nowMs;
    // A reboot loses the plan (tc state is not persistent): the boot plan until the agent resends.
    this.plan = bootPlan(this.params);
    for (const c of TRAFFIC_CLASSES) this.bytes[c] = 0;
    this.sessions.rebooted();
    this.reserve.measuredS = 0;
    this.reserve.honouredS = 0;
    return true;
  }

  /** Draws demand for the coming step, allocates, and integrates bytes over dtMs. */
  advance(dtMs: number): void {
    if (dtMs < 0) throw new Error('advance: dtMs must be >= 0');
    if (!this.down) {
      const hour = localMinuteOfDay(this.nowMs, this.params.utcOffsetMinutes) / 60;
      for (const c of TRAFFIC_CLASSES) {
        const share = diurnalShare(c, hour);
        const noise = Math.max(0, 1 + 0.15 * this.rng.normal());
        this.demandKbps[c] = this.params.peakDemandKbps[c] * share * noise;
        this.clients[c] = Math.max(0, Math.round(this.params.peakClients[c] * share + this.rng.normal() * 0.5));
      }
      // Telemedicine is sessions (the class's draws above are kept so the other classes' stay the same).
      this.sessions.step(this.nowMs, dtMs, diurnalShare('telemedicine', hour), this.aux);
      this.demandKbps.telemedicine = this.sessions.demandKbps();
      this.clients.telemedicine = this.sessions.active.length;
      this.stepBackhaul(dtMs);
      const link = this.linkFactor < 1 ? { ...this.plan, capacityKbps: this.plan.capacityKbps * this.linkFactor } : this.plan;
      const served = serveUnderPlan(link, this.demandKbps);
      const seconds = dtMs / 1000;
      for (const c of TRAFFIC_CLASSES) {
        const kbps = Math.max(0, served[c] ?? 0);
        this.servedKbps[c] = kbps;
        const b = (kbps * 1000 * seconds) / 8;
        this.bytes[c] += b;
        this.groundTruthBytes[c] += b;
      }
      this.sessions.credit(this.servedKbps.telemedicine, dtMs);
      // Honoured: the household got what it asked for, or at least its reserve.
      const owed = Math.min(this.demandKbps.household, this.params.householdReserveKbps);
      const honoured = this.servedKbps.household >= owed - 1e-6;
      this.reserve.measuredS += seconds;
      this.reserve.totalMeasuredS += seconds;
      if (honoured) {
        this.reserve.honouredS += seconds;
        this.reserve.totalHonouredS += seconds;
      }
    }
    this.nowMs += dtMs;
  }

  /** A two-state link: now and then the backhaul degrades to 25–60 % of its capacity for a few minutes. */
  private stepBackhaul(dtMs: number): void {
    if (this.linkFactor < 1) {
      if (this.aux.next() < 1 - Math.exp(-dtMs / BACKHAUL_DIP_LASTS_MS)) this.linkFactor = 1;
    } else if (this.aux.next() < 1 - Math.exp(-dtMs / BACKHAUL_DIP_EVERY_MS)) {
      this.linkFactor = this.aux.range(0.25, 0.6);
    }
  }

  reading(device: string): ApReading | null {
    if (this.down) return null;
    return {
      device,
      ts: Math.round(this.nowMs),
      capacityKbps: this.params.capacityKbps,
      uptime: Math.floor((this.nowMs - this.bootMs) / 1000),
      clients: { ...this.clients },
      bytes: {
        household: Math.floor(this.bytes.household),
        telemedicine: Math.floor(this.bytes.telemedicine),
        public: Math.floor(this.bytes.public),
      },
      coproduction: {
        v: 1,
        telemedicineSessions: this.sessions.startedSinceBoot,
        telemedicineSessionsActive: this.sessions.active.length,
        reserveKbps: this.params.householdReserveKbps,
        reserveMeasuredS: this.reserve.measuredS,
        reserveHonouredS: this.reserve.honouredS,
      },
    };
  }
}
