// Sun events (NOAA solar-position algorithm, the one behind the NOAA Solar Calculator spreadsheet).
// Accurate to well under a minute at street-lighting latitudes, which is what astro steps need.
// The engine caches results per site and UTC day (see SunCache); nothing here runs per luminaire.

export type SunEventKind = 'sunset' | 'sunrise' | 'civilDusk' | 'civilDawn';

const DAY_MS = 86_400_000;
const RAD = Math.PI / 180;
const DEG = 180 / Math.PI;

/** Altitude of the sun's centre at the event: −0.833° = refraction (34′) + upper limb (16′). */
const ALTITUDE_DEG: Record<SunEventKind, number> = {
  sunrise: -0.833,
  sunset: -0.833,
  civilDawn: -6,
  civilDusk: -6,
};
const IS_RISING: Record<SunEventKind, boolean> = {
  sunrise: true,
  civilDawn: true,
  sunset: false,
  civilDusk: false,
};

interface SolarTerms {
  declinationRad: number;
  equationOfTimeMin: number;
}

function solarTerms(utcMs: number): SolarTerms {
  const jd = utcMs / DAY_MS + 2440587.5;
  const t = (jd - 2451545) / 36525;
  const l0 = (((280.46646 + t * (36000.76983 + t * 0.0003032)) % 360) + 360) % 360;
  const m = 357.52911 + t * (35999.05029 - 0.0001537 * t);
  const e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t);
  const mr = m * RAD;
  const c =
    Math.sin(mr) * (1.914602 - t * (0.004817 + 0.000014 * t)) + Math.sin(2 * mr) * (0.019993 - 0.000101 * t) + Math.sin(3 * mr) * 0.000289;
  const omega = (125.04 - 1934.136 * t) * RAD;
  const lambda = (l0 + c - 0.00569 - 0.00478 * Math.sin(omega)) * RAD;
  const eps0 = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60;
  const eps = (eps0 + 0.00256 * Math.cos(omega)) * RAD;
  const declinationRad = Math.asin(Math.sin(eps) * Math.sin(lambda));
  const y = Math.tan(eps / 2) ** 2;
  const l0r = l0 * RAD;
  const eqTime =
    y * Math.sin(2 * l0r) -
    2 * e * Math.sin(mr) +
    4 * e * y * Math.sin(mr) * Math.cos(2 * l0r) -
    0.5 * y * y * Math.sin(4 * l0r) -
    1.25 * e * e * Math.sin(2 * mr);
  return { declinationRad, equationOfTimeMin: 4 * eqTime * DEG };
}

/**
 * The event belonging to the solar day whose noon is nearest UTC noon of `utcDayStartMs`, or NaN when
 * the sun never reaches that altitude (polar day/night). Iterated because declination and the
 * equation of time must be taken at the event, not at noon.
 */
export function sunEventOnUtcDay(utcDayStartMs: number, lat: number, lon: number, kind: SunEventKind): number {
  const h0 = ALTITUDE_DEG[kind] * RAD;
  const latR = lat * RAD;
  let t = utcDayStartMs + (720 - 4 * lon) * 60_000;
  for (let iter = 0; iter < 3; iter++) {
    const { declinationRad, equationOfTimeMin } = solarTerms(t);
    const cosH = (Math.sin(h0) - Math.sin(latR) * Math.sin(declinationRad)) / (Math.cos(latR) * Math.cos(declinationRad));
    if (cosH < -1 || cosH > 1) return Number.NaN;
    const hourAngleDeg = Math.acos(cosH) * DEG;
    const noonMin = 720 - 4 * lon - equationOfTimeMin;
    const eventMin = IS_RISING[kind] ? noonMin - 4 * hourAngleDeg : noonMin + 4 * hourAngleDeg;
    t = utcDayStartMs + eventMin * 60_000;
  }
  // Whole milliseconds, like Date: otherwise the event returned as a Date would compare "after" itself.
  return Math.round(t);
}

/** First event of `kind` strictly after `after`. Throws if none within a year (never at |lat| < 65°). */
export function nextSunEvent(after: Date, lat: number, lon: number, kind: SunEventKind): Date {
  const afterMs = after.getTime();
  const day0 = Math.floor(afterMs / DAY_MS) * DAY_MS;
  // Start a day early: at far longitudes the event of "yesterday's" solar day can fall after `after`.
  for (let d = -1; d < 370; d++) {
    const ev = sunEventOnUtcDay(day0 + d * DAY_MS, lat, lon, kind);
    if (ev > afterMs) return new Date(ev);
  }
  throw new RangeError(`no ${kind} within a year at lat ${lat}, lon ${lon}`);
}

/** Per-site, per-UTC-day cache so compiled step tables don't recompute trigonometry. */
export class SunCache {
  private readonly cache = new Map<string, number>();

  /** The first event of `kind` at or after `fromMs` and before `fromMs + 1 day`, or NaN. */
  eventWithin(fromMs: number, lat: number, lon: number, kind: SunEventKind): number {
    const day0 = Math.floor(fromMs / DAY_MS) * DAY_MS;
    for (let d = -1; d <= 1; d++) {
      const dayStart = day0 + d * DAY_MS;
      const key = `${lat},${lon},${dayStart},${kind}`;
      let ev = this.cache.get(key);
      if (ev === undefined) {
        ev = sunEventOnUtcDay(dayStart, lat, lon, kind);
        if (this.cache.size > 100_000) this.cache.clear();
        this.cache.set(key, ev);
      }
      if (ev >= fromMs && ev < fromMs + DAY_MS) return ev;
    }
    return Number.NaN;
  }
}
