import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luminairePoint } from '@poste/telemetry-store/testing';
import { startTestApi } from '../test-support/app';
import { HOUR, NOW } from '../test-support/fixtures';

const DAY = 24 * HOUR;

describe('GET /api/v1/energy/series', () => {
  it('per local day: the programme sum equals the range report, unrounded figures rounded alike', async () => {
    const t = await startTestApi();
    try {
      const range = `from=${NOW - DAY}&to=${NOW}`;
      const series = (await t.api.app.inject({ url: `/api/v1/energy/series?${range}` })).json();
      const report = (await t.api.app.inject({ url: `/api/v1/energy?${range}` })).json();
      assert.equal(series.granularity, 'day');
      assert.deepEqual(
        series.points.map((p: { period: string }) => p.period),
        ['2024-06-01'],
        'NOW − 10 h is 11:00 on 1 June in Belém and Santarém',
      );
      for (const k of ['measuredKwh', 'baselineKwh', 'savedKwh', 'savedBrl', 'savedCo2Kg', 'litHours', 'luminaires'] as const) {
        assert.equal(series[k], report[k], k);
        assert.equal(series.points[0][k], report[k], `${k} of the one day`);
      }
      assert.equal(series.measuredKwh, 2);
    } finally {
      await t.api.close();
    }
  });

  it("buckets by the municipality's local calendar, not UTC; filters by luminaire and group", async () => {
    const t = await startTestApi();
    try {
      // 02:00 UTC on 2 June is 23:00 on 1 June in Belém (UTC−3): one more kWh for lum-b1 that local day.
      await t.store.write([
        luminairePoint({ municipality: 'belem', gateway: 'gw-b', group: 'av', luminaire: 'lum-b1' }, NOW + 2 * HOUR, 11_600, 111),
      ]);
      const q = `from=${NOW - DAY}&to=${NOW + DAY}&municipality=belem`;
      const days = (await t.api.app.inject({ url: `/api/v1/energy/series?${q}` })).json();
      assert.deepEqual(
        days.points.map((p: { period: string; measuredKwh: number }) => [p.period, p.measuredKwh]),
        [['2024-06-01', 2.5]],
      );
      const hours = (await t.api.app.inject({ url: `/api/v1/energy/series?${q}&granularity=hour&luminaire=lum-b1` })).json();
      assert.deepEqual(
        hours.points.map((p: { period: string; measuredKwh: number }) => [p.period, p.measuredKwh]),
        [
          ['2024-06-01T01', 0], // the series' first reading: nothing before it to count from
          ['2024-06-01T11', 0.6],
          ['2024-06-01T23', 1],
        ],
      );
      const month = (await t.api.app.inject({ url: `/api/v1/energy/series?${q}&granularity=month&group=av` })).json();
      assert.equal(month.points[0].period, '2024-06');
      assert.equal(month.points[0].luminaires, 2);
      const noGroup = await t.api.app.inject({ url: `/api/v1/energy/series?group=av` });
      assert.equal(noGroup.statusCode, 400);
      assert.deepEqual(noGroup.json().issues, [{ path: 'group', reason: 'needs municipality (group ids are per municipality)' }]);
      assert.equal((await t.api.app.inject({ url: '/api/v1/energy/series?granularity=week' })).json().issues[0].path, 'granularity');
      assert.equal((await t.api.app.inject({ url: '/api/v1/energy/series?municipality=nowhere' })).statusCode, 404);
    } finally {
      await t.api.close();
    }
  });
});
