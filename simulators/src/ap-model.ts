import type { ApReading, TrafficClass } from '@poste/protocol';
import { localMinuteOfDay } from './local-program';
import { mulberry32, type Prng } from './prng';
import type { ApModelSnapshot } from './snapshot';

export const TRAFFIC_CLASSES: readonly TrafficClass[] = ['household', 'telemedicine', 'public'];

/** Same shape as the agent scheduler's `allocateBandwidth(ap)` input (docs/architecture.md, bandwidth sharing). */
export interface BandwidthFlow {
  id: string;
  class: TrafficClass;
  demandKbps: number;
  weight?: number;
}
export interface BandwidthRequest {
  capacityKbps: number;
  householdReserveKbps: number;
  publicCapKbps: number;
  flows: BandwidthFlow[];
}
/** kbit/s per flow id. Injectable so the agent's real scheduler can replace the simple one. */
export type AllocateBandwidth = (ap: BandwidthRequest) => Record<string, number>;

/**
 * Simple stand-in for the scheduler: the docs/architecture.md bandwidth order applied to class totals (household up
 * to its reserve, then telemedicine and public within the public cap, then household takes what
 * remains), each class's share split over its flows in proportion to demand.
 */
export const simpleAllocateBandwidth: AllocateBandwidth = (ap) => {
  const demand: Record<TrafficClass, number> = { household: 0, telemedicine: 0, public: 0 };
  for (const f of ap.flows) demand[f.class] += Math.max(0, f.demandKbps);
  const cap = Math.max(0, ap.capacityKbps);
  const publicCap = Math.min(Math.max(0, ap.publicCapKbps), cap);
  const householdFirst = Math.min(demand.household, ap.householdReserveKbps, cap);
  const tele = Math.min(demand.telemedicine, publicCap, cap - householdFirst);
  const pub = Math.min(demand.public, publicCap - tele, cap - householdFirst - tele);
  const household = householdFirst + Math.min(demand.household - householdFirst, cap - householdFirst - tele - pub);
  const served: Record<TrafficClass, number> = { household, telemedicine: tele, public: pub };
  const out: Record<string, number> = {};
  for (const f of ap.flows) {
    const d = demand[f.class];
    out[f.id] = d > 0 ? (served[f.class] * Math.max(0, f.demandKbps)) / d : 0;
  }
  return out;
};

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

/**
 * One OpenWrt access point. Pure and deterministic given its Prng: demand per class at each step
 * (diurnal curve × seeded noise), served throughput by the injected allocation, byte counters
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
  private rng: Prng;
  private readonly allocate: AllocateBandwidth;

  constructor(params: ApParams, startMs: number, rng: Prng, allocate: AllocateBandwidth = simpleAllocateBandwidth) {
    this.params = params;
    this.nowMs = startMs;
    this.bootMs = startMs;
    this.rng = rng;
    this.allocate = allocate;
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
  }

  injectFault(_f: ApFault): boolean {
    if (this.down) return false;
    this.down = true;
    this.demandKbps = perClass(0);
    this.servedKbps = perClass(0);
    this.clients = perClass(0);
    return true;
  }

  clearFault(_f: ApFault): boolean {
    if (!this.down) return false;
    this.down = false;
    this.bootMs = this.nowMs;
    for (const c of TRAFFIC_CLASSES) this.bytes[c] = 0;
    return true;
  }

  /** Draws demand for the coming step, allocates, and integrates bytes over dtMs. */
  advance(dtMs: number): void {
    if (dtMs < 0) throw new Error('advance: dtMs must be >= 0');
    if (!this.down) {
      const hour = localMinuteOfDay(this.nowMs, this.params.utcOffsetMinutes) / 60;
      const flows: BandwidthFlow[] = [];
      for (const c of TRAFFIC_CLASSES) {
        const share = diurnalShare(c, hour);
        const noise = Math.max(0, 1 + 0.15 * this.rng.normal());
        this.demandKbps[c] = this.params.peakDemandKbps[c] * share * noise;
        this.clients[c] = Math.max(0, Math.round(this.params.peakClients[c] * share + this.rng.normal() * 0.5));
        flows.push({ id: c, class: c, demandKbps: this.demandKbps[c] });
      }
      const served = this.allocate({
        capacityKbps: this.params.capacityKbps,
        householdReserveKbps: this.params.householdReserveKbps,
        publicCapKbps: this.params.publicCapKbps,
        flows,
      });
      const seconds = dtMs / 1000;
      for (const c of TRAFFIC_CLASSES) {
        const kbps = Math.max(0, served[c] ?? 0);
        this.servedKbps[c] = kbps;
        const b = (kbps * 1000 * seconds) / 8;
        this.bytes[c] += b;
        this.groundTruthBytes[c] += b;
      }
    }
    this.nowMs += dtMs;
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
    };
  }
}
