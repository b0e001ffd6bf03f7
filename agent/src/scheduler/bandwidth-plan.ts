// Allocations → HTB-shaped plan the OpenWrt bridge applies with tc. Rates are the guaranteed
// allocations; ceilings say how far a class may borrow when others are idle. Telemedicine and public
// sit under one parent whose ceiling is publicCap, so borrowing can never push shared traffic above
// what the household ceded; households may borrow up to the whole link.
import type { AccessPointDemand, FlowClass } from './allocate-bandwidth';
import { allocateBandwidth } from './allocate-bandwidth';

export interface ClassShape {
  rateKbps: number;
  ceilKbps: number;
  /** HTB priority: lower borrows first */
  priority: number;
}

export interface FlowShape {
  class: FlowClass;
  rateKbps: number;
  ceilKbps: number;
}

export interface BandwidthPlan {
  capacityKbps: number;
  household: ClassShape;
  /** parent of telemedicine and public */
  shared: ClassShape;
  telemedicine: ClassShape;
  public: ClassShape;
  flows: Record<string, FlowShape>;
}

export function bandwidthPlan(ap: AccessPointDemand, allocation: Record<string, number> = allocateBandwidth(ap)): BandwidthPlan {
  const cap = Math.max(0, ap.capacityKbps);
  const sharedCeil = Math.min(Math.max(0, ap.publicCapKbps), cap);
  const totals: Record<FlowClass, number> = { household: 0, telemedicine: 0, public: 0 };
  const flows: Record<string, FlowShape> = {};
  for (const f of ap.flows) {
    const rate = allocation[f.id] ?? 0;
    totals[f.class] += rate;
    flows[f.id] = { class: f.class, rateKbps: rate, ceilKbps: f.class === 'household' ? cap : sharedCeil };
  }
  return {
    capacityKbps: cap,
    household: { rateKbps: totals.household, ceilKbps: cap, priority: 0 },
    shared: { rateKbps: totals.telemedicine + totals.public, ceilKbps: sharedCeil, priority: 1 },
    telemedicine: { rateKbps: totals.telemedicine, ceilKbps: sharedCeil, priority: 1 },
    public: { rateKbps: totals.public, ceilKbps: sharedCeil, priority: 2 },
    flows,
  };
}
