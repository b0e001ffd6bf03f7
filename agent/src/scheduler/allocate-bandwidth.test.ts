import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import solver from 'javascript-lp-solver';
import type { Model } from 'javascript-lp-solver';
import type { AccessPointDemand, FlowClass } from './allocate-bandwidth';
import { allocateBandwidth, allocateBandwidthBatch, toBandwidthBatch } from './allocate-bandwidth';
import { bandwidthPlan } from './bandwidth-plan';

const EPS = 1e-6;
const flowsOf = (cls: FlowClass, demands: number[]) => demands.map((d, i) => ({ id: `${cls[0]}${i}`, class: cls, demandKbps: d }));

describe('allocateBandwidth known vectors', () => {
  it('max-min: demands 2, 2.6, 4, 5 over capacity 10 give 2, 2.6, 2.7, 2.7 (household)', () => {
    const r = allocateBandwidth({
      capacityKbps: 10,
      householdReserveKbps: 4,
      publicCapKbps: 0,
      flows: flowsOf('household', [2, 2.6, 4, 5]),
    });
    assert.deepEqual(
      Object.values(r).map((x) => +x.toFixed(9)),
      [2, 2.6, 2.7, 2.7],
    );
  });
  it('same vector as public flows within publicCap 10', () => {
    const r = allocateBandwidth({ capacityKbps: 20, householdReserveKbps: 0, publicCapKbps: 10, flows: flowsOf('public', [2, 2.6, 4, 5]) });
    assert.deepEqual(
      Object.values(r).map((x) => +x.toFixed(9)),
      [2, 2.6, 2.7, 2.7],
    );
  });
  it('strict order: reserve, then telemedicine, then public, then households take the rest', () => {
    const r = allocateBandwidth({
      capacityKbps: 10,
      householdReserveKbps: 3,
      publicCapKbps: 4,
      flows: [
        { id: 'h', class: 'household', demandKbps: 9 },
        { id: 't', class: 'telemedicine', demandKbps: 3 },
        { id: 'p', class: 'public', demandKbps: 5, weight: 2 },
        { id: 'q', class: 'public', demandKbps: 5 },
      ],
    });
    assert.ok(Math.abs((r.h ?? 0) - 6) < EPS);
    assert.ok(Math.abs((r.t ?? 0) - 3) < EPS);
    assert.ok(Math.abs((r.p ?? 0) - 2 / 3) < EPS); // weight 2 gets twice q's share of the 1 left
    assert.ok(Math.abs((r.q ?? 0) - 1 / 3) < EPS);
  });
  it('household keeps its reserve even when public demand is huge', () => {
    const r = allocateBandwidth({
      capacityKbps: 10,
      householdReserveKbps: 6,
      publicCapKbps: 8,
      flows: [
        { id: 'h', class: 'household', demandKbps: 50 },
        { id: 't', class: 'telemedicine', demandKbps: 50 },
      ],
    });
    assert.equal(r.h, 6);
    assert.equal(r.t, 4);
  });
  it('plan: rates are class totals, shared ceiling is publicCap, household may borrow the link', () => {
    const ap: AccessPointDemand = {
      capacityKbps: 10,
      householdReserveKbps: 3,
      publicCapKbps: 4,
      flows: [
        { id: 'h', class: 'household', demandKbps: 2 },
        { id: 't', class: 'telemedicine', demandKbps: 1 },
        { id: 'p', class: 'public', demandKbps: 9 },
      ],
    };
    const plan = bandwidthPlan(ap);
    assert.equal(plan.household.rateKbps, 2);
    assert.equal(plan.household.ceilKbps, 10);
    assert.equal(plan.telemedicine.rateKbps, 1);
    assert.equal(plan.public.rateKbps, 3);
    assert.equal(plan.shared.ceilKbps, 4);
    assert.equal(plan.flows.p?.ceilKbps, 4);
  });
});

const classArb = fc.constantFrom<FlowClass>('household', 'telemedicine', 'public');
const apArb = fc
  .record({
    capacityKbps: fc.integer({ min: 0, max: 2000 }),
    householdReserveKbps: fc.integer({ min: 0, max: 2000 }),
    publicCapKbps: fc.integer({ min: 0, max: 2000 }),
    flows: fc.array(fc.record({ class: classArb, demandKbps: fc.integer({ min: 0, max: 1000 }), weight: fc.integer({ min: 1, max: 5 }) }), {
      minLength: 0,
      maxLength: 8,
    }),
  })
  .map((ap): AccessPointDemand => ({ ...ap, flows: ap.flows.map((f, i) => ({ ...f, id: `f${i}` })) }));

function checkInvariants(ap: AccessPointDemand, r: Record<string, number>): void {
  let total = 0,
    shared = 0,
    hh = 0,
    hhDemand = 0;
  for (const f of ap.flows) {
    const x = r[f.id] ?? NaN;
    assert.ok(x >= -EPS && x <= f.demandKbps + EPS, `flow ${f.id} ${x} within [0, ${f.demandKbps}]`);
    total += x;
    if (f.class === 'household') {
      hh += x;
      hhDemand += f.demandKbps;
    } else shared += x;
  }
  assert.ok(total <= ap.capacityKbps + EPS, 'total ≤ capacity');
  assert.ok(shared <= ap.publicCapKbps + EPS, 'non-household ≤ publicCap');
  assert.ok(hh >= Math.min(hhDemand, ap.householdReserveKbps, ap.capacityKbps) - EPS, 'household ≥ min(demand, reserve)');
  // unsatisfied flows of a class share one weighted level, and nobody satisfied sits above it
  for (const cls of ['household', 'telemedicine', 'public'] as const) {
    const fl = ap.flows.filter((f) => f.class === cls);
    const unsat = fl.filter((f) => (r[f.id] ?? 0) < f.demandKbps - EPS);
    const levels = unsat.map((f) => (r[f.id] ?? 0) / (f.weight ?? 1));
    for (const l of levels) assert.ok(Math.abs(l - (levels[0] ?? 0)) < 1e-6 * Math.max(1, l), `${cls} one level`);
    if (levels.length > 0) {
      for (const f of fl) assert.ok((r[f.id] ?? 0) / (f.weight ?? 1) <= (levels[0] ?? 0) + 1e-6 || (r[f.id] ?? 0) >= f.demandKbps - EPS);
    }
  }
}

/** Class totals by lexicographic LP: telemedicine max, then public max, then household max. */
function lpClassTotals(ap: AccessPointDemand): Record<FlowClass, number> {
  const hhDemand = ap.flows.filter((f) => f.class === 'household').reduce((s, f) => s + f.demandKbps, 0);
  const constraints: Model['constraints'] = {
    cap: { max: ap.capacityKbps },
    shared: { max: ap.publicCapKbps },
    household: { min: Math.min(hhDemand, ap.householdReserveKbps, ap.capacityKbps) },
  };
  const variables: Model['variables'] = {};
  ap.flows.forEach((f, i) => {
    constraints[`d${i}`] = { max: f.demandKbps };
    variables[f.id] = { [`d${i}`]: 1, cap: 1, [f.class]: 1, [`obj_${f.class}`]: 1, ...(f.class === 'household' ? {} : { shared: 1 }) };
  });
  const totals: Record<FlowClass, number> = { household: 0, telemedicine: 0, public: 0 };
  for (const cls of ['telemedicine', 'public', 'household'] as const) {
    // objective attributes must not share a name with a constraint in this solver
    const res = solver.Solve({ optimize: `obj_${cls}`, opType: 'max', constraints, variables }) as { feasible?: boolean; result?: number };
    assert.ok(res.feasible, 'LP feasible');
    const value = Number(res.result) || 0;
    totals[cls] = value;
    constraints[cls] = { min: Math.max(0, value - 1e-7) };
  }
  return totals;
}

describe('allocateBandwidth properties', () => {
  it('invariants hold on random APs', () => {
    fc.assert(
      fc.property(apArb, (ap) => checkInvariants(ap, allocateBandwidth(ap))),
      { numRuns: 500 },
    );
  });
  it('class totals equal the lexicographic LP optimum on random small instances', () => {
    fc.assert(
      fc.property(apArb, (ap) => {
        const r = allocateBandwidth(ap);
        const lp = lpClassTotals(ap);
        for (const cls of ['household', 'telemedicine', 'public'] as const) {
          const ours = ap.flows.filter((f) => f.class === cls).reduce((s, f) => s + (r[f.id] ?? 0), 0);
          assert.ok(Math.abs(ours - lp[cls]) < 1e-4 * Math.max(1, lp[cls]), `${cls}: ours ${ours} lp ${lp[cls]}`);
        }
      }),
      { numRuns: 200 },
    );
  });
  it('batch form over typed arrays equals the object form', () => {
    fc.assert(
      fc.property(fc.array(apArb, { minLength: 1, maxLength: 20 }), (aps) => {
        const batch = toBandwidthBatch(aps);
        const res = allocateBandwidthBatch(batch);
        let f = 0;
        aps.forEach((ap, a) => {
          const r = allocateBandwidth(ap);
          let hh = 0;
          for (const flow of ap.flows) {
            assert.ok(Math.abs((res.allocationKbps[f++] ?? NaN) - (r[flow.id] ?? 0)) < 1e-9);
            if (flow.class === 'household') hh += r[flow.id] ?? 0;
          }
          assert.ok(Math.abs((res.classTotalsKbps[a * 3] ?? NaN) - hh) < 1e-9);
        });
      }),
      { numRuns: 100 },
    );
  });
});
