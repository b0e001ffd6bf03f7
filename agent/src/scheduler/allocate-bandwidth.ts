// Bandwidth policy of docs/architecture.md, "Bandwidth sharing", in strict order:
//  1. household flows up to min(household demand, reserve) — max-min fair;
//  2. telemedicine, weighted max-min, within what is left of publicCap and capacity;
//  3. public, weighted max-min, within what then remains of publicCap;
//  4. households take what remains of capacity, max-min fair over their total.
// One kernel (`allocateApInto`) over structure-of-arrays flows serves both the object form used by
// the agent and checks, and the batch form that runs over a whole city (CSR: apFlowStart offsets).

export type FlowClass = 'household' | 'telemedicine' | 'public';

export interface FlowDemand {
  id: string;
  class: FlowClass;
  demandKbps: number;
  /** Relative share within its class when demand exceeds supply. Default 1. */
  weight?: number;
}

export interface AccessPointDemand {
  capacityKbps: number;
  householdReserveKbps: number;
  publicCapKbps: number;
  flows: FlowDemand[];
}

export const CLASS_HOUSEHOLD = 0;
export const CLASS_TELEMEDICINE = 1;
export const CLASS_PUBLIC = 2;
const CLASS_CODE: Record<FlowClass, number> = { household: 0, telemedicine: 1, public: 2 };

/** Many access points at once. Flows of AP `a` are indices apFlowStart[a] .. apFlowStart[a+1]-1. */
export interface BandwidthBatch {
  apCount: number;
  capacityKbps: Float64Array;
  householdReserveKbps: Float64Array;
  publicCapKbps: Float64Array;
  /** length apCount + 1 */
  apFlowStart: Int32Array;
  flowClass: Uint8Array;
  demandKbps: Float64Array;
  weight: Float64Array;
}

/** Reusable scratch so the batch loop allocates nothing per AP. */
class Scratch {
  byClass: Int32Array[] = [new Int32Array(16), new Int32Array(16), new Int32Array(16)];
  active = new Int32Array(16);
  ensure(n: number): void {
    if (this.active.length >= n) return;
    const size = Math.max(n, this.active.length * 2);
    this.byClass = [new Int32Array(size), new Int32Array(size), new Int32Array(size)];
    this.active = new Int32Array(size);
  }
}

/**
 * Weighted max-min (progressive filling) of `budget` over flows `list[0..n)`. Each round gives every
 * unsatisfied flow weight × level; flows whose demand fits under it are satisfied and leave, which
 * raises the level for the rest. Rounds ≤ distinct saturation levels, typically 1–3. Returns total given.
 */
function waterFill(
  list: Int32Array,
  n: number,
  budget: number,
  demand: Float64Array,
  weight: Float64Array,
  out: Float64Array,
  active: Int32Array,
): number {
  let rem = Math.max(budget, 0);
  let m = n;
  for (let k = 0; k < n; k++) active[k] = list[k] as number;
  let given = 0;
  while (m > 0) {
    let wsum = 0;
    for (let k = 0; k < m; k++) wsum += weight[active[k] as number] as number;
    const level = rem / wsum;
    let k = 0;
    let removed = false;
    while (k < m) {
      const f = active[k] as number;
      const d = demand[f] as number;
      if (d <= (weight[f] as number) * level) {
        out[f] = d;
        rem -= d;
        given += d;
        active[k] = active[--m] as number;
        removed = true;
      } else k++;
    }
    if (!removed) {
      for (let j = 0; j < m; j++) {
        const f = active[j] as number;
        const x = (weight[f] as number) * level;
        out[f] = x;
        given += x;
      }
      break;
    }
  }
  return given;
}

/** Allocate one AP's flows [start, end) into `out`; writes per-class totals into `classTotals[0..3)`. */
function allocateApInto(
  capacity: number,
  reserve: number,
  publicCap: number,
  start: number,
  end: number,
  cls: Uint8Array,
  demand: Float64Array,
  weight: Float64Array,
  out: Float64Array,
  scratch: Scratch,
  classTotals: Float64Array,
  totalsAt: number,
): void {
  scratch.ensure(end - start);
  const [hh, tm, pb] = scratch.byClass as [Int32Array, Int32Array, Int32Array];
  let nh = 0,
    nt = 0,
    np = 0;
  let hhDemand = 0;
  for (let f = start; f < end; f++) {
    const c = cls[f];
    out[f] = 0;
    if (c === CLASS_HOUSEHOLD) {
      hh[nh++] = f;
      hhDemand += demand[f] as number;
    } else if (c === CLASS_TELEMEDICINE) tm[nt++] = f;
    else pb[np++] = f;
  }
  const cap = Math.max(capacity, 0);
  const pubCap = Math.min(Math.max(publicCap, 0), cap);
  // 1. household reserve
  let hUsed = waterFill(hh, nh, Math.min(hhDemand, reserve, cap), demand, weight, out, scratch.active);
  // 2. telemedicine within publicCap and remaining capacity
  const tUsed = waterFill(tm, nt, Math.min(pubCap, cap - hUsed), demand, weight, out, scratch.active);
  // 3. public within what remains of publicCap (and capacity)
  const pUsed = waterFill(pb, np, Math.min(pubCap - tUsed, cap - hUsed - tUsed), demand, weight, out, scratch.active);
  // 4. households take the rest, max-min over their whole total (re-fill; level only rises)
  const rest = cap - hUsed - tUsed - pUsed;
  if (rest > 0 && hUsed < hhDemand) {
    hUsed = waterFill(hh, nh, hUsed + rest, demand, weight, out, scratch.active);
  }
  classTotals[totalsAt] = hUsed;
  classTotals[totalsAt + 1] = tUsed;
  classTotals[totalsAt + 2] = pUsed;
}

const sharedScratch = new Scratch();

/** docs/architecture.md, "Bandwidth sharing" contract: allocation in kbit/s per flow id. */
export function allocateBandwidth(ap: AccessPointDemand): Record<string, number> {
  const n = ap.flows.length;
  const cls = new Uint8Array(n);
  const demand = new Float64Array(n);
  const weight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = ap.flows[i] as FlowDemand;
    cls[i] = CLASS_CODE[f.class];
    demand[i] = Math.max(0, f.demandKbps);
    weight[i] = f.weight !== undefined && f.weight > 0 ? f.weight : 1;
  }
  const out = new Float64Array(n);
  const totals = new Float64Array(3);
  allocateApInto(ap.capacityKbps, ap.householdReserveKbps, ap.publicCapKbps, 0, n, cls, demand, weight, out, sharedScratch, totals, 0);
  const result: Record<string, number> = {};
  for (let i = 0; i < n; i++) result[(ap.flows[i] as FlowDemand).id] = out[i] as number;
  return result;
}

export interface BatchAllocation {
  /** kbit/s per flow, same indexing as the batch */
  allocationKbps: Float64Array;
  /** per AP: [household, telemedicine, public] totals, length apCount × 3 */
  classTotalsKbps: Float64Array;
}

/** Allocate every AP of the batch. Pass `into` to reuse output buffers between ticks. */
export function allocateBandwidthBatch(batch: BandwidthBatch, into?: BatchAllocation): BatchAllocation {
  const flowCount = batch.apFlowStart[batch.apCount] ?? 0;
  const res =
    into && into.allocationKbps.length >= flowCount && into.classTotalsKbps.length >= batch.apCount * 3
      ? into
      : { allocationKbps: new Float64Array(flowCount), classTotalsKbps: new Float64Array(batch.apCount * 3) };
  const { capacityKbps, householdReserveKbps, publicCapKbps, apFlowStart, flowClass, demandKbps, weight } = batch;
  for (let a = 0; a < batch.apCount; a++) {
    allocateApInto(
      capacityKbps[a] as number,
      householdReserveKbps[a] as number,
      publicCapKbps[a] as number,
      apFlowStart[a] as number,
      apFlowStart[a + 1] as number,
      flowClass,
      demandKbps,
      weight,
      res.allocationKbps,
      sharedScratch,
      res.classTotalsKbps,
      a * 3,
    );
  }
  return res;
}

/** Pack object-form APs into a batch (used by tests and by the agent when APs are few). */
export function toBandwidthBatch(aps: readonly AccessPointDemand[]): BandwidthBatch {
  const apCount = aps.length;
  const apFlowStart = new Int32Array(apCount + 1);
  let total = 0;
  for (let a = 0; a < apCount; a++) {
    apFlowStart[a] = total;
    total += (aps[a] as AccessPointDemand).flows.length;
  }
  apFlowStart[apCount] = total;
  const batch: BandwidthBatch = {
    apCount,
    capacityKbps: new Float64Array(apCount),
    householdReserveKbps: new Float64Array(apCount),
    publicCapKbps: new Float64Array(apCount),
    apFlowStart,
    flowClass: new Uint8Array(total),
    demandKbps: new Float64Array(total),
    weight: new Float64Array(total),
  };
  for (let a = 0; a < apCount; a++) {
    const ap = aps[a] as AccessPointDemand;
    batch.capacityKbps[a] = ap.capacityKbps;
    batch.householdReserveKbps[a] = ap.householdReserveKbps;
    batch.publicCapKbps[a] = ap.publicCapKbps;
    let f = apFlowStart[a] as number;
    for (const flow of ap.flows) {
      batch.flowClass[f] = CLASS_CODE[flow.class];
      batch.demandKbps[f] = Math.max(0, flow.demandKbps);
      batch.weight[f] = flow.weight !== undefined && flow.weight > 0 ? flow.weight : 1;
      f++;
    }
  }
  return batch;
}
