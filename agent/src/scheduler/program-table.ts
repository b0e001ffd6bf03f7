// Compiles validated config into what the tick needs: per (program, local day, site) a sorted table of
// UTC instants and levels. Astro steps need the sun, fixed steps need the zone's offset that day; both
// are resolved here once per day so the tick does array lookups only.
import type { Calendar, CloConfig, Program, SchedulerConfig } from './config-schema';
import { SunCache } from './sun';
import { TimeZone, dayNumberToDate, isoDateToDayNumber } from './time-zone';

export interface StepTable {
  /** UTC ms, ascending */
  times: Float64Array;
  levels: Float32Array;
}

interface CompiledRule {
  program: number;
  dates: Set<number> | null;
  from: number;
  to: number;
  /** bit d set = weekday d matches; 0x7f = any */
  weekdayMask: number;
  holiday: boolean | undefined;
}

export interface CompiledCalendar {
  rules: CompiledRule[];
  defaultProgram: number;
}

export class ProgramCompiler {
  readonly tz: TimeZone;
  readonly programs: Program[];
  readonly calendars: CompiledCalendar[];
  readonly calendarIndex = new Map<string, number>();
  private readonly holidays: Set<number>;
  private readonly sun = new SunCache();
  private readonly tables = new Map<string, StepTable>();

  constructor(cfg: SchedulerConfig) {
    this.tz = new TimeZone(cfg.site.timeZone);
    this.programs = cfg.programs;
    const programIndex = new Map(cfg.programs.map((p, i) => [p.id, i] as const));
    this.holidays = new Set(cfg.holidays.map(isoDateToDayNumber));
    this.calendars = cfg.calendars.map((c: Calendar, i) => {
      this.calendarIndex.set(c.id, i);
      return {
        defaultProgram: programIndex.get(c.defaultProgram) ?? 0,
        rules: c.rules.map((r) => ({
          program: programIndex.get(r.program) ?? 0,
          dates: r.dates ? new Set(r.dates.map(isoDateToDayNumber)) : null,
          from: r.from ? isoDateToDayNumber(r.from) : -Infinity,
          to: r.to ? isoDateToDayNumber(r.to) : Infinity,
          weekdayMask: r.weekdays ? r.weekdays.reduce((m, d) => m | (1 << d), 0) : 0x7f,
          holiday: r.holiday,
        })),
      };
    });
  }

  /** Program index a calendar chooses for a local day: first rule whose every criterion matches. */
  programFor(calendar: number, day: number): number {
    const cal = this.calendars[calendar];
    if (!cal) return -1;
    const weekday = dayNumberToDate(day).weekday;
    const isHoliday = this.holidays.has(day);
    for (const r of cal.rules) {
      if (r.dates && !r.dates.has(day)) continue;
      if (day < r.from || day > r.to) continue;
      if ((r.weekdayMask & (1 << weekday)) === 0) continue;
      if (r.holiday !== undefined && r.holiday !== isHoliday) continue;
      return r.program;
    }
    return cal.defaultProgram;
  }

  /** Step table of `program` on local day `day` at a site; cached. */
  table(program: number, day: number, lat: number, lon: number): StepTable {
    const key = `${program}|${day}|${lat}|${lon}`;
    const hit = this.tables.get(key);
    if (hit) return hit;
    const prog = this.programs[program];
    const dayStart = this.tz.dayStartUtc(day);
    const nextStart = this.tz.dayStartUtc(day + 1);
    const steps: { t: number; level: number }[] = [];
    for (const s of prog?.steps ?? []) {
      let t: number;
      if (s.kind === 'fixed') {
        const [h, m] = s.time.split(':').map(Number);
        t = this.tz.wallTimeToUtc(day, (h ?? 0) * 60 + (m ?? 0));
      } else {
        const ev = this.sun.eventWithin(dayStart, lat, lon, s.event);
        if (!(ev < nextStart)) continue; // polar day/night: the step does not happen that day
        t = ev + s.offsetMinutes * 60_000;
      }
      steps.push({ t, level: s.level });
    }
    steps.sort((a, b) => a.t - b.t); // stable: equal times keep program order, the later step wins
    const table: StepTable = {
      times: Float64Array.from(steps, (s) => s.t),
      levels: Float32Array.from(steps, (s) => s.level),
    };
    if (this.tables.size > 10_000) this.tables.clear();
    this.tables.set(key, table);
    return table;
  }

  /**
   * Level in force at `nowMs` for a calendar: the last step at or before now on today's table; before
   * today's first step the previous day's program is still running (a night spans midnight).
   */
  levelAt(calendar: number, nowMs: number, lat: number, lon: number): number {
    const day = this.tz.localDayNumber(nowMs);
    for (let d = day; d >= day - 2; d--) {
      const program = this.programFor(calendar, d);
      if (program < 0) return Number.NaN;
      const t = this.table(program, d, lat, lon);
      for (let k = t.times.length - 1; k >= 0; k--) {
        if ((t.times[k] as number) <= nowMs) return t.levels[k] as number;
      }
    }
    return Number.NaN;
  }
}

/** CLO factor: drive a new lamp at maintenanceFactor/maintenance(hours) so output stays constant. */
export function cloFactor(clo: CloConfig | undefined, hours: number): number {
  if (!clo) return 1;
  const c = clo.curve;
  const first = c[0];
  if (!first) return 1;
  let m = first.maintenance;
  if (hours > first.hours) {
    m = c[c.length - 1]?.maintenance ?? m;
    for (let k = 1; k < c.length; k++) {
      const a = c[k - 1];
      const b = c[k];
      if (a && b && hours <= b.hours) {
        m = a.maintenance + ((b.maintenance - a.maintenance) * (hours - a.hours)) / (b.hours - a.hours);
        break;
      }
    }
  }
  return clo.maintenanceFactor / m;
}
