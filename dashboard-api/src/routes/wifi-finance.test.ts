import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApi } from '../test-support/app';
import { startCapturedApi } from '../test-support/captured-api';
import { apReadingPoint, HOUR, NOW } from '../test-support/fixtures';

const DAY = 24 * HOUR;
const apReadings = [
  apReadingPoint(NOW - 20 * HOUR, { household: 1e6, telemedicine: 1e5, public: 2e5 }, 50_000, {
    sessions: 4,
    measuredS: 7_200,
    honouredS: 7_000,
  }),
  apReadingPoint(NOW - 10 * HOUR, { household: 3e6, telemedicine: 4e5, public: 1.2e6 }, 2_000, {
    sessions: 9,
    measuredS: 43_200,
    honouredS: 34_000,
  }),
];
// Between the two readings: 5 sessions, 36,000 s measured, 27,000 s honoured (75 %).
const RESERVE = { measuredS: 36_000, honouredS: 27_000, honouredPct: 75 };

describe('Wi-Fi figures', () => {
  it('bytes per class per local day are the exact counter deltas; free points report uptime and fall below the threshold', async () => {
    const t = await startTestApi();
    try {
      await t.store.write(apReadings);
      const series = (await t.api.app.inject({ url: `/api/v1/wifi/series?from=${NOW - DAY}&to=${NOW}&granularity=day` })).json();
      assert.deepEqual(series.bytes, { household: 2e6, public: 1e6, telemedicine: 3e5 });
      assert.equal(series.telemedicineSessions, 5);
      assert.deepEqual(series.reserve, RESERVE);
      assert.deepEqual([series.points[0].telemedicineSessions, series.points[0].reserve], [5, RESERVE]);
      assert.deepEqual(
        series.points.map((p: { period: string }) => p.period),
        ['2024-06-01'],
      );
      const free = (await t.api.app.inject({ url: `/api/v1/wifi/free-points?from=${NOW - DAY}&to=${NOW}` })).json();
      const p = free.points[0];
      assert.deepEqual(
        [p.ap, p.name, p.municipality, p.uptimePct, p.capacityKbps],
        ['ap-1', 'Praça da República', 'belem', (100 * 2) / 24, 2_000],
      );
      assert.ok(Math.abs(p.spareKbps - (2_000 - (3.3e6 * 8) / 3600 / 1000)) < 1e-9);
      assert.deepEqual(free.below, ['ap-1'], '2 Mbit/s of capacity is below the 3 Mbit/s default threshold');
    } finally {
      await t.api.close();
    }
  });

  it("a household's ledger counts only its AP's hours while enrolled, ceded hours by its windows", async () => {
    const t = await startCapturedApi();
    try {
      await t.store.write(apReadings);
      t.setNow(NOW - 21 * HOUR);
      const op = await t.auth('operator');
      const h = (
        await t.api.app.inject({
          method: 'POST',
          url: '/api/v1/households',
          headers: op,
          payload: {
            name: 'Família Lima',
            ap: 'ap-1',
            cededKbps: 2000,
            windows: [{ from: '00:00', to: '06:00' }],
            consent: { accepted: true, termsVersion: 'v1' },
          },
        })
      ).json();
      t.setNow(NOW);
      const ledger = (await t.api.app.inject({ url: `/api/v1/households/${h.id}/ledger?from=${NOW - DAY}&to=${NOW}`, headers: op })).json();
      assert.deepEqual(
        ledger.totals,
        { publicBytes: 1e6, telemedicineBytes: 3e5, telemedicineSessions: 5, cededHours: 1, reserve: RESERVE },
        '01:00 local is in the window, 11:00 is not',
      );
      assert.equal(ledger.days[0].day, '2024-06-01');
      assert.deepEqual([ledger.days[0].telemedicineSessions, ledger.days[0].reserve], [5, RESERVE]);
      assert.equal((await t.api.app.inject({ url: `/api/v1/households/${h.id}/ledger` })).statusCode, 401);
      // Per AP, with the household that cedes it; it names a household, so never without a token.
      const aps = (await t.api.app.inject({ url: `/api/v1/wifi/aps?from=${NOW - DAY}&to=${NOW}`, headers: await t.auth('viewer') })).json();
      assert.deepEqual(aps.aps, [
        {
          ap: 'ap-1',
          municipality: 'belem',
          freePoint: true,
          household: { id: h.id, name: 'Família Lima', cededKbps: 2000 },
          bytes: { household: 2e6, public: 1e6, telemedicine: 3e5 },
          telemedicineSessions: 5,
          reserve: RESERVE,
          reportingHours: 2,
        },
      ]);
      assert.equal((await t.api.app.inject({ url: '/api/v1/wifi/aps' })).statusCode, 401);
      assert.equal((await t.api.app.inject({ url: '/api/v1/wifi/aps?municipality=nowhere', headers: op })).statusCode, 404);
    } finally {
      await t.api.close();
    }
  });
});

describe('spend against revenue', () => {
  it('per month: measured and billed spend, revenue entered by an operator, ratios, payback; ranked', async () => {
    const t = await startTestApi();
    try {
      const op = await t.auth('operator');
      const put = (url: string, payload: object, headers: Record<string, string> = op) =>
        t.api.app.inject({ method: 'PUT', url, payload, headers });
      assert.equal((await put('/api/v1/finance/belem/revenue/2024-06', { cipBrl: 10 }, await t.auth('viewer'))).statusCode, 403);
      assert.equal((await put('/api/v1/finance/belem/revenue/2024-13', { cipBrl: 10 })).json().issues[0].path, 'month');
      assert.equal((await put('/api/v1/finance/nowhere/revenue/2024-06', { cipBrl: 10 })).statusCode, 404);
      assert.equal((await put('/api/v1/finance/belem/revenue/2024-06', { cipBrl: 10 })).statusCode, 200);
      assert.equal((await put('/api/v1/finance/belem/investment', { ledRetrofitBrl: 248 })).statusCode, 200);
      const f = (await t.api.app.inject({ url: '/api/v1/finance?from=2024-06&to=2024-06' })).json();
      const belem = f.municipalities.find((m: { municipality: string }) => m.municipality === 'belem');
      // 1.5 kWh measured × R$ 0.80; retrofit savings (4.6 − 1.5) kWh × 0.80 = R$ 2.48 a month → 248 / 2.48 = 100 months.
      assert.deepEqual(
        [
          belem.months[0].measuredSpendBrl,
          belem.months[0].revenueBrl,
          belem.months[0].measuredRatio,
          belem.months[0].savedBrl,
          belem.paybackMonths,
        ],
        [1.2, 10, 0.12, 2.48, 100],
      );
      assert.deepEqual(f.ranking, ['belem', 'santarem'], 'a municipality without revenue ranks last');
    } finally {
      await t.api.close();
    }
  });
});
