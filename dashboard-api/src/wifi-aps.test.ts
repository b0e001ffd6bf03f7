import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApHour } from '@poste/telemetry-store';
import type { Household } from './households/household-schemas';
import { HOUR, NOW, testInventory } from './test-support/fixtures';
import { apFigures, householdLedger } from './wifi-aps';

const hour = (ap: string, hourStart: number, over: Partial<ApHour> = {}): ApHour => ({
  hourStart,
  municipality: 'belem',
  gateway: 'gw-b',
  ap,
  bytes: { household: 1_000, public: 200, telemedicine: 50 },
  clients: { max: 3, avg: 2 },
  clientsAvg: { household: 1, public: 0.5, telemedicine: 0.5 },
  capacityKbpsAvg: 20_000,
  readings: 60,
  telemedicineSessions: 2,
  reserve: { measuredS: 3_600, honouredS: 3_000 },
  ...over,
});

const household = (over: Partial<Household> = {}): Household => ({
  id: 'h-000000000001',
  name: 'Família Lima',
  ap: 'ap-1',
  municipality: 'belem',
  cededKbps: 4_000,
  windows: [],
  consent: { accepted: true, termsVersion: 'v1', at: NOW - 48 * HOUR, recordedBy: 'op' },
  state: 'active',
  enrolledAt: NOW - 48 * HOUR,
  ...over,
});

describe('per-AP Wi-Fi figures', () => {
  it('sum bytes, sessions and reserve seconds per AP; name only an active household; no measurement → no share', () => {
    const hours = [
      hour('ap-1', NOW - 2 * HOUR),
      hour('ap-1', NOW - HOUR, { telemedicineSessions: 1, reserve: { measuredS: 3_600, honouredS: 3_600 } }),
      // an AP without coproduction figures (older firmware)
      hour('ap-2', NOW - HOUR, { telemedicineSessions: 0, reserve: { measuredS: 0, honouredS: 0 } }),
    ];
    const revoked = household({ id: 'h-000000000002', ap: 'ap-2', state: 'revoked', revokedAt: NOW - 3 * HOUR });
    const [a1, a2] = apFigures(hours, testInventory(), [household(), revoked]);
    assert.deepEqual(a1, {
      ap: 'ap-1',
      municipality: 'belem',
      freePoint: true,
      household: { id: 'h-000000000001', name: 'Família Lima', cededKbps: 4_000 },
      bytes: { household: 2_000, public: 400, telemedicine: 100 },
      telemedicineSessions: 3,
      reserve: { measuredS: 7_200, honouredS: 6_600, honouredPct: (100 * 6_600) / 7_200 },
      reportingHours: 2,
    });
    assert.equal(a2?.household, undefined, 'a revoked household no longer cedes the AP');
    assert.deepEqual(a2?.reserve, { measuredS: 0, honouredS: 0, honouredPct: null });
  });

  it('a ledger per local day: sessions and the reserve’s share per day and in total, ceded hours by the windows', () => {
    // 02:00 UTC is 23:00 on the 1st in Belém (UTC−3); 03:00 and 04:00 UTC are 00:00 and 01:00 on the 2nd.
    const hours = [
      hour('ap-1', NOW + 2 * HOUR),
      hour('ap-1', NOW + 3 * HOUR, { reserve: { measuredS: 3_600, honouredS: 1_800 } }),
      hour('ap-1', NOW + 4 * HOUR, { telemedicineSessions: 0 }),
    ];
    const l = householdLedger(
      household({ windows: [{ days: [0, 1, 2, 3, 4, 5, 6], from: '00:00', to: '06:00' }] }),
      hours,
      'America/Belem',
    );
    assert.deepEqual(
      l.days.map((d) => [d.day, d.telemedicineSessions, d.reserve.honouredPct, d.cededHours, d.reportingHours]),
      [
        ['2024-06-01', 2, (100 * 3_000) / 3_600, 0, 1],
        ['2024-06-02', 2, (100 * 1_800 + 100 * 3_000) / 7_200, 2, 2],
      ],
    );
    assert.deepEqual(l.totals, {
      publicBytes: 600,
      telemedicineBytes: 150,
      telemedicineSessions: 4,
      cededHours: 2,
      reserve: { measuredS: 10_800, honouredS: 7_800, honouredPct: (100 * 7_800) / 10_800 },
    });
  });
});
