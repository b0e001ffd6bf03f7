import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApBandwidthPlanSchema, ApReadingSchema } from '@poste/protocol';
import { ApModel, TRAFFIC_CLASSES, bootPlan, serveUnderPlan, type ApParams } from './ap-model';
import { mulberry32 } from './prng';

const params: ApParams = {
  capacityKbps: 20_000,
  householdReserveKbps: 10_000,
  publicCapKbps: 5_000,
  // Demand above capacity so the caps bind.
  peakDemandKbps: { household: 30_000, telemedicine: 4_000, public: 12_000 },
  peakClients: { household: 5, telemedicine: 2, public: 20 },
  utcOffsetMinutes: -180,
};
const T0 = Date.UTC(2024, 5, 1, 3); // local midnight

describe('serveUnderPlan (HTB sharing under a plan)', () => {
  const plan = {
    capacityKbps: 10_000,
    publicCapKbps: 3_000,
    household: { rateKbps: 6_000, ceilKbps: 10_000 },
    telemedicine: { rateKbps: 1_000, ceilKbps: 3_000 },
    public: { rateKbps: 2_000, ceilKbps: 3_000 },
  };
  it('guarantees each class its rate and caps telemedicine + public at the ceded share', () => {
    const s = serveUnderPlan(plan, { household: 8_000, telemedicine: 1_000, public: 9_000 });
    assert.deepEqual(s, { household: 7_000, telemedicine: 1_000, public: 2_000 });
  });
  it('is work-conserving: an idle household leaves its rate to public traffic, up to the public cap', () => {
    const s = serveUnderPlan(plan, { household: 500, telemedicine: 0, public: 9_000 });
    assert.deepEqual(s, { household: 500, telemedicine: 0, public: 3_000 });
    const h = serveUnderPlan(plan, { household: 9_500, telemedicine: 0, public: 100 });
    assert.deepEqual(h, { household: 9_500, telemedicine: 0, public: 100 });
  });
  it('the boot plan guarantees the reserve before any plan arrives', () => {
    const p = bootPlan({ capacityKbps: 10_000, householdReserveKbps: 6_000, publicCapKbps: 3_000 });
    assert.equal(p.household.rateKbps, 6_000);
    assert.equal(p.telemedicine.rateKbps + p.public.rateKbps, 3_000);
    assert.equal(ApBandwidthPlanSchema.safeParse(p).success, true);
  });
});

describe('ApModel', () => {
  it('byte counters are monotonic and served rates respect capacity, reserve and public cap', () => {
    const ap = new ApModel(params, T0, mulberry32(3));
    let prev = { household: 0, telemedicine: 0, public: 0 };
    for (let i = 0; i < 24 * 60; i++) {
      ap.advance(60_000);
      const s = ap.servedKbps;
      const total = s.household + s.telemedicine + s.public;
      assert.ok(total <= params.capacityKbps + 1e-6);
      assert.ok(s.telemedicine + s.public <= params.publicCapKbps + 1e-6);
      assert.ok(s.household >= Math.min(ap.demandKbps.household, params.householdReserveKbps) - 1e-6);
      for (const c of TRAFFIC_CLASSES) assert.ok(s[c] <= ap.demandKbps[c] + 1e-6);
      const r = ap.reading('cps-gw1-ap-001');
      assert.ok(r);
      ApReadingSchema.parse(r);
      for (const c of TRAFFIC_CLASSES) assert.ok(r.bytes[c] >= prev[c]);
      prev = r.bytes;
    }
    assert.equal(ap.reading('x')?.uptime, 24 * 3600);
  });

  it('demand follows the day: households busier in the evening than before dawn', () => {
    const ap = new ApModel(params, T0, mulberry32(3));
    const hourly: number[] = [];
    for (let h = 0; h < 24; h++) {
      let sum = 0;
      for (let i = 0; i < 60; i++) {
        ap.advance(60_000);
        sum += ap.demandKbps.household;
      }
      hourly.push(sum / 60);
    }
    assert.ok((hourly[21] ?? 0) > 3 * (hourly[4] ?? 0));
  });

  it('obeys the plan it is sent (and refuses one above its uplink); a reboot falls back to the boot plan', () => {
    const ap = new ApModel(params, T0, mulberry32(3));
    const starve = {
      capacityKbps: 20_000,
      publicCapKbps: 0,
      household: { rateKbps: 800, ceilKbps: 800 },
      telemedicine: { rateKbps: 0, ceilKbps: 0 },
      public: { rateKbps: 0, ceilKbps: 0 },
    };
    assert.equal(ap.applyPlan(starve), null);
    ap.advance(10_000);
    assert.equal(ap.reading('x')?.bytes.household, 1_000_000, '800 kbit/s for 10 s');
    assert.equal(ap.reading('x')?.bytes.public, 0);
    assert.match(ap.applyPlan({ ...starve, capacityKbps: 50_000 }) ?? '', /above this AP's uplink/);
    assert.equal(ap.plan.household.ceilKbps, 800, 'a refused plan changes nothing');
    ap.injectFault('apDown');
    ap.clearFault('apDown');
    assert.deepEqual(ap.plan, bootPlan(params));
  });

  it('apDown: no readings; back up is a reboot (uptime and counters restart)', () => {
    const ap = new ApModel(params, T0, mulberry32(3));
    ap.advance(600_000);
    assert.ok((ap.reading('x')?.bytes.household ?? 0) > 0);
    ap.injectFault('apDown');
    ap.advance(600_000);
    assert.equal(ap.reading('x'), null);
    ap.clearFault('apDown');
    const r = ap.reading('x');
    assert.equal(r?.uptime, 0);
    assert.equal(r?.bytes.household, 0);
  });
});
