import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApReadingSchema } from '@poste/protocol';
import { ApModel, TRAFFIC_CLASSES, simpleAllocateBandwidth, type ApParams } from './ap-model';
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

describe('simpleAllocateBandwidth', () => {
  it('protects the household reserve and caps public traffic', () => {
    const a = simpleAllocateBandwidth({
      capacityKbps: 10_000,
      householdReserveKbps: 6_000,
      publicCapKbps: 3_000,
      flows: [
        { id: 'h', class: 'household', demandKbps: 8_000 },
        { id: 't', class: 'telemedicine', demandKbps: 1_000 },
        { id: 'p', class: 'public', demandKbps: 9_000 },
      ],
    });
    assert.equal(a.t, 1_000);
    assert.equal(a.p, 2_000);
    assert.equal(a.h, 7_000);
  });

  it('never gives a flow more than its demand and is work conserving for households', () => {
    const a = simpleAllocateBandwidth({
      capacityKbps: 10_000,
      householdReserveKbps: 2_000,
      publicCapKbps: 3_000,
      flows: [
        { id: 'h', class: 'household', demandKbps: 9_000 },
        { id: 'p', class: 'public', demandKbps: 500 },
      ],
    });
    assert.equal(a.p, 500);
    assert.equal(a.h, 9_000);
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

  it('uses an injected allocation', () => {
    const ap = new ApModel(params, T0, mulberry32(3), (req) =>
      Object.fromEntries(req.flows.map((f) => [f.id, f.class === 'household' ? 800 : 0])),
    );
    ap.advance(10_000);
    assert.equal(ap.reading('x')?.bytes.household, 1_000_000);
    assert.equal(ap.reading('x')?.bytes.public, 0);
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
