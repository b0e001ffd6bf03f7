import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextSunEvent } from './sun';

// Reference: U.S. Naval Observatory, "Rise and Set for the Sun for 2008", Cupertino CA,
// W121°55′ N37°24′, zone 8h west of Greenwich (standard time all year), times rounded to the minute.
const LAT = 37 + 24 / 60;
const LON = -(121 + 55 / 60);
const usno2008: [month: number, day: number, rise: string, set: string][] = [
  [1, 1, '07:22', '17:00'],
  [2, 1, '07:11', '17:32'],
  [3, 3, '06:35', '18:04'],
  [6, 1, '04:48', '19:23'],
  [7, 1, '04:51', '19:32'],
  [12, 1, '07:04', '16:50'],
];

function pstToUtc(month: number, day: number, hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return Date.UTC(2008, month - 1, day, (h ?? 0) + 8, m ?? 0);
}

describe('nextSunEvent', () => {
  for (const [month, day, rise, set] of usno2008) {
    it(`matches USNO 2008-${month}-${day} Cupertino within one minute`, () => {
      const localMidnight = new Date(pstToUtc(month, day, '00:00'));
      const r = nextSunEvent(localMidnight, LAT, LON, 'sunrise').getTime();
      const s = nextSunEvent(localMidnight, LAT, LON, 'sunset').getTime();
      assert.ok(Math.abs(r - pstToUtc(month, day, rise)) <= 60_000, `sunrise ${new Date(r).toISOString()}`);
      assert.ok(Math.abs(s - pstToUtc(month, day, set)) <= 60_000, `sunset ${new Date(s).toISOString()}`);
    });
  }

  it('returns the first event strictly after `after`', () => {
    const s = nextSunEvent(new Date(pstToUtc(6, 1, '00:00')), LAT, LON, 'sunset');
    const again = nextSunEvent(s, LAT, LON, 'sunset');
    assert.ok(again.getTime() > s.getTime());
    assert.ok(Math.abs(again.getTime() - s.getTime() - 86_400_000) < 120_000, 'next day');
    const justBefore = nextSunEvent(new Date(s.getTime() - 1), LAT, LON, 'sunset');
    assert.equal(justBefore.getTime(), s.getTime());
  });

  it('civil dusk follows sunset and civil dawn precedes sunrise by ~25–40 minutes at mid latitude', () => {
    const t = new Date(pstToUtc(3, 3, '00:00'));
    const dusk = nextSunEvent(t, LAT, LON, 'civilDusk').getTime() - nextSunEvent(t, LAT, LON, 'sunset').getTime();
    const dawn = nextSunEvent(t, LAT, LON, 'sunrise').getTime() - nextSunEvent(t, LAT, LON, 'civilDawn').getTime();
    for (const d of [dusk, dawn]) assert.ok(d > 20 * 60_000 && d < 40 * 60_000, `${d / 60_000} min`);
  });

  it('works east of Greenwich and south of the equator (Belém, near the equator: ~12h days)', () => {
    const after = new Date(Date.UTC(2024, 2, 20, 3));
    const rise = nextSunEvent(after, -1.456, -48.5, 'sunrise').getTime();
    const set = nextSunEvent(after, -1.456, -48.5, 'sunset').getTime();
    assert.ok(Math.abs(set - rise - 12.1 * 3600_000) < 15 * 60_000);
    const tokyo = nextSunEvent(new Date(Date.UTC(2024, 5, 20, 15)), 35.68, 139.69, 'sunrise');
    assert.ok(tokyo.getUTCHours() === 19 || tokyo.getUTCHours() === 20); // ~04:25 JST
  });

  it('skips polar day: the next Tromsø sunset after midsummer is in late July', () => {
    const s = nextSunEvent(new Date(Date.UTC(2024, 5, 21)), 69.65, 18.96, 'sunset');
    assert.equal(s.getUTCMonth(), 6);
    assert.ok(s.getUTCDate() >= 20);
  });
});
