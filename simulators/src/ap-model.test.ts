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
      // The reserve holds while the backhaul does; in a dip the link itself is short of it.
      if (ap.linkFactor === 1) assert.ok(s.household >= Math.min(ap.demandKbps.household, params.householdReserveKbps) - 1e-6);
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

  it('telemedicine is sessions in clinic hours: demand and clients follow the open ones, their bytes add up to the class counter', () => {
    const ap = new ApModel(params, T0, mulberry32(5));
    let maxOpen = 0;
    for (let i = 0; i < 24 * 360; i++) {
      ap.advance(10_000);
      const open = ap.sessions.active;
      maxOpen = Math.max(maxOpen, open.length);
      assert.equal(ap.clients.telemedicine, open.length);
      assert.ok(Math.abs(ap.demandKbps.telemedicine - open.reduce((n, x) => n + x.kbps, 0)) < 1e-6);
    }
    const started = ap.sessions.startedTotal;
    assert.ok(started >= 10 && started <= 80, `a day at a peak of 2 concurrent 20-minute consults starts tens of sessions, got ${started}`);
    assert.ok(maxOpen >= 1);
    const ended = ap.sessions.recent;
    assert.ok(ended.length > 0 && ended.every((x) => x.endMs > x.startMs && x.endMs - x.startMs <= 30 * 60_000 && x.bytes > 0));
    // Most sessions start in clinic hours (local 07:00–18:00).
    const inClinicHours = ended.filter((x) => {
      const h = new Date(x.startMs - 3 * 3_600_000).getUTCHours();
      return h >= 7 && h < 18;
    }).length;
    assert.ok(inClinicHours / ended.length > 0.8, `${inClinicHours} of ${ended.length} in clinic hours`);
    const r = ap.reading('x');
    assert.equal(r?.coproduction?.telemedicineSessions, started);
    assert.equal(r?.coproduction?.telemedicineSessionsActive, ap.sessions.active.length);
    // The class counter is the sessions' bytes, open and ended (only a bounded number of ended ones is kept).
    const total = [...ap.sessions.active, ...ap.sessions.recent].reduce((n, x) => n + x.bytes, 0);
    assert.ok(total <= ap.groundTruthBytes.telemedicine + 1e-3);
  });

  it('counts the seconds the household reserve was honoured; a backhaul dip under a busy household breaks it', () => {
    const ap = new ApModel(params, T0, mulberry32(7));
    let dipped = 0;
    for (let i = 0; i < 7 * 24 * 360; i++) {
      const before = { ...ap.reserve };
      ap.advance(10_000);
      assert.equal(ap.reserve.measuredS - before.measuredS, 10);
      const owed = Math.min(ap.demandKbps.household, params.householdReserveKbps);
      const honoured = ap.servedKbps.household >= owed - 1e-6;
      assert.equal(ap.reserve.honouredS - before.honouredS, honoured ? 10 : 0);
      if (ap.linkFactor < 1) dipped++;
    }
    assert.ok(dipped > 0, 'a week has backhaul dips');
    const share = ap.reserve.honouredS / ap.reserve.measuredS;
    assert.ok(share > 0.8 && share < 1, `honoured ${share}: mostly, not always`);
    const co = ap.reading('x')?.coproduction;
    assert.deepEqual(co && { m: co.reserveMeasuredS, h: co.reserveHonouredS, k: co.reserveKbps }, {
      m: 7 * 24 * 3600,
      h: ap.reserve.honouredS,
      k: params.householdReserveKbps,
    });
    ap.injectFault('apDown');
    ap.advance(60_000);
    ap.clearFault('apDown');
    assert.equal(ap.reading('x')?.coproduction?.reserveMeasuredS, 0, 'since boot: a reboot restarts it');
    assert.equal(ap.reading('x')?.coproduction?.telemedicineSessions, 0);
    assert.equal(ap.reserve.totalMeasuredS, 7 * 24 * 3600, 'the ground truth does not count the down minute');
  });
});
