// From what an AP's traffic shows to the plan it is sent. Demand per class is estimated from the
// AP's byte counters (what a real OpenWrt AP can report); the scheduler's `allocateBandwidth`
// shares the link (docs/architecture.md, "Bandwidth sharing"); the plan turns the allocation into
// HTB rates and ceilings the AP enforces.
import type { ApBandwidthPlan, ApReading, TrafficClass } from '@poste/protocol';
import { allocateBandwidth } from '../../scheduler/allocate-bandwidth';

export const CLASSES: readonly TrafficClass[] = ['household', 'telemedicine', 'public'];

export interface ApPolicy {
  capacityKbps: number;
  householdReserveKbps: number;
  publicCapKbps: number;
}

export type ClassKbps = Record<TrafficClass, number>;

/**
 * Served rates between two readings of one AP, kbit/s; null when they cannot say (first reading,
 * no time passed, a reboot between them, a counter that went down).
 */
export function servedBetween(prev: ApReading, next: ApReading): ClassKbps | null {
  const dt = (next.ts - prev.ts) / 1_000;
  if (dt <= 0 || next.uptime < prev.uptime) return null;
  const out: ClassKbps = { household: 0, telemedicine: 0, public: 0 };
  for (const c of CLASSES) {
    const d = next.bytes[c] - prev.bytes[c];
    if (d < 0) return null;
    out[c] = (d * 8) / 1_000 / dt;
  }
  return out;
}

/**
 * What each class would take if it could: the served rate grown by `headroom` (a class held at its
 * ceiling must be able to show it wants more), plus a floor for a class with clients and no
 * traffic yet. Bounded by the link.
 */
export function estimateDemand(
  served: ClassKbps,
  clients: ApReading['clients'],
  capacityKbps: number,
  headroom: number,
  floorKbps: number,
): ClassKbps {
  const out: ClassKbps = { household: 0, telemedicine: 0, public: 0 };
  for (const c of CLASSES) {
    const grown = served[c] * headroom + (clients[c] > 0 ? floorKbps : 0);
    out[c] = Math.min(capacityKbps, grown);
  }
  return out;
}

/**
 * The plan for one AP: `allocateBandwidth` over the three classes, then HTB shapes. The household's
 * guaranteed rate is never below its reserve (so it gets the reserve the moment it wants it, without
 * waiting for the next plan: HTB lends an idle class's rate to the others meanwhile);
 * telemedicine and public get their allocations within what the household cedes, ceilings at
 * `publicCapKbps` so borrowing never lifts them above it.
 */
export function planFor(policy: ApPolicy, demand: ClassKbps): ApBandwidthPlan {
  const cap = Math.max(1, policy.capacityKbps);
  const publicCap = Math.min(Math.max(0, policy.publicCapKbps), cap);
  const reserve = Math.min(Math.max(0, policy.householdReserveKbps), cap);
  const alloc = allocateBandwidth({
    capacityKbps: cap,
    householdReserveKbps: reserve,
    publicCapKbps: publicCap,
    flows: CLASSES.map((c) => ({ id: c, class: c, demandKbps: demand[c] })),
  });
  const household = Math.max(alloc.household ?? 0, reserve);
  const sharedRoom = Math.max(0, Math.min(publicCap, cap - household));
  const telemedicine = Math.min(alloc.telemedicine ?? 0, sharedRoom);
  const pub = Math.min(alloc.public ?? 0, sharedRoom - telemedicine);
  const r = (x: number): number => Math.round(x);
  return {
    capacityKbps: r(cap),
    publicCapKbps: r(publicCap),
    household: { rateKbps: r(household), ceilKbps: r(cap) },
    telemedicine: { rateKbps: r(telemedicine), ceilKbps: r(publicCap) },
    public: { rateKbps: r(pub), ceilKbps: r(publicCap) },
  };
}

/** Whether `next` differs from `prev` enough to send: any rate or ceiling moved by more than `tolerance` × capacity. */
export function planChanged(prev: ApBandwidthPlan | null, next: ApBandwidthPlan, tolerance: number): boolean {
  if (prev === null) return true;
  const eps = tolerance * next.capacityKbps;
  if (prev.capacityKbps !== next.capacityKbps || prev.publicCapKbps !== next.publicCapKbps) return true;
  return CLASSES.some((c) => Math.abs(prev[c].rateKbps - next[c].rateKbps) > eps || Math.abs(prev[c].ceilKbps - next[c].ceilKbps) > eps);
}
