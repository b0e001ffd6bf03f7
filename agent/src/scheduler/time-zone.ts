// Local time in an IANA zone without a tz library. The zone's rules (DST included, historic rules
// too, e.g. Brazil's DST until 2019) come from the operating system's tz database when it has the
// zone (tzif.ts: no ICU data mapped, ~8 MB less on a gateway), otherwise from Intl. Either way
// offsets are cached per UTC quarter hour — real zones change offset only on quarter-hour
// boundaries, so the cache stays exact.

import { isValidTimeZone as intlKnowsZone, offsetMsWith, wallClockFormatter } from '@poste/protocol';
import { loadZoneTable, zoneOffsetMs, type ZoneTable } from './tzif';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface LocalDate {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

/**
 * Whether `tz` names a zone: one the system tz database has (looked up first, so validating a
 * config maps no ICU data either), or one ICU knows.
 */
export function isValidTimeZone(tz: string): boolean {
  return loadZoneTable(tz) !== null || intlKnowsZone(tz);
}

/** Where a zone's offsets come from: the system tz database, or an Intl formatter. */
type OffsetSource = { table: ZoneTable } | { fmt: Intl.DateTimeFormat };

export class TimeZone {
  private readonly source: OffsetSource;
  private readonly offsetByHour = new Map<number, number>();

  constructor(readonly zone: string) {
    const table = loadZoneTable(zone);
    this.source = table !== null ? { table } : { fmt: wallClockFormatter(zone) };
  }

  /** 'tzdb' when the offsets come from the system's TZif file, 'intl' when from ICU. */
  get rulesFrom(): 'tzdb' | 'intl' {
    return 'table' in this.source ? 'tzdb' : 'intl';
  }

  /** local − UTC in ms at instant `utcMs`. */
  offsetMs(utcMs: number): number {
    // Offsets change on the hour or half/quarter hour; cache per 15 minutes to stay exact.
    const key = Math.floor(utcMs / (HOUR_MS / 4));
    const hit = this.offsetByHour.get(key);
    if (hit !== undefined) return hit;
    const at = key * (HOUR_MS / 4);
    const off = 'table' in this.source ? zoneOffsetMs(this.source.table, at) : offsetMsWith(this.source.fmt, at);
    if (this.offsetByHour.size > 50_000) this.offsetByHour.clear();
    this.offsetByHour.set(key, off);
    return off;
  }

  /** The local calendar date at instant `utcMs`. */
  localDate(utcMs: number): LocalDate {
    const local = new Date(utcMs + this.offsetMs(utcMs));
    return {
      year: local.getUTCFullYear(),
      month: local.getUTCMonth() + 1,
      day: local.getUTCDate(),
      weekday: local.getUTCDay(),
    };
  }

  /** A day number (days since 1970-01-01 in local time) — cheap key for per-day caches. */
  localDayNumber(utcMs: number): number {
    return Math.floor((utcMs + this.offsetMs(utcMs)) / DAY_MS);
  }

  /**
   * UTC instant of local wall time `minutes` after midnight on local day `dayNumber`. In a DST gap
   * (e.g. São Paulo 2018-11-04 00:00–01:00 did not exist) the wall time is taken with the offset in
   * force before the gap, which lands just after it — the lamp switches at the first real instant.
   * In an overlap the earlier instant wins.
   */
  wallTimeToUtc(dayNumber: number, minutes: number): number {
    const wall = dayNumber * DAY_MS + minutes * 60_000;
    const offBefore = this.offsetMs(wall - DAY_MS / 2);
    const offAfter = this.offsetMs(wall + DAY_MS / 2);
    const a = wall - offBefore;
    const b = wall - offAfter;
    const aValid = a + this.offsetMs(a) === wall;
    const bValid = b + this.offsetMs(b) === wall;
    if (aValid && bValid) return Math.min(a, b);
    if (aValid) return a;
    if (bValid) return b;
    return a; // in the gap
  }

  /** UTC instant at which local day `dayNumber` starts (the first existing instant of that date). */
  dayStartUtc(dayNumber: number): number {
    const t = this.wallTimeToUtc(dayNumber, 0);
    // wallTimeToUtc lands after a midnight gap; still the first instant of the date.
    return t;
  }
}

export function dayNumberToDate(dayNumber: number): LocalDate {
  const d = new Date(dayNumber * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}

/** 'YYYY-MM-DD' → local day number. */
export function isoDateToDayNumber(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number);
  return Math.floor(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1) / DAY_MS);
}
