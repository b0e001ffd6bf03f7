// A zone's UTC offsets from the operating system's tz database (/usr/share/zoneinfo, TZif files,
// RFC 8536) instead of ICU. Why: the first Intl.DateTimeFormat a process builds maps about 8 MB of
// ICU's locale and calendar data (measured: `npm run bench -- gateway-latency`, a bare node grows
// from 39.6 to 47.8 MB), a sixth of what a small gateway can give the agent, only to learn one
// zone's offsets. A TZif file holds exactly that: the zone's transitions (historic rules included,
// e.g. Brazil's DST until 2019) and a POSIX TZ rule for the instants after the last one.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's tzdata and OpenWrt's zoneinfo-* packages install the compiled zones. */
export const SYSTEM_ZONEINFO_DIR = '/usr/share/zoneinfo';

/** One side of a POSIX TZ rule: the day (Jn, n or Mm.w.d) and the local time of the switch, seconds. */
type RuleDate =
  | { kind: 'julian-no-leap'; day: number; time: number }
  | { kind: 'zero-based'; day: number; time: number }
  | { kind: 'month-week-day'; month: number; week: number; weekday: number; time: number };

/** A POSIX TZ string (the TZif footer), e.g. `<-03>3` or `CET-1CEST,M3.5.0,M10.5.0/3`. */
interface PosixRule {
  /** standard time's UTC offset, seconds east */
  std: number;
  dst?: { offset: number; start: RuleDate; end: RuleDate };
}

/** A zone's offsets: transitions (UTC seconds, ascending) with the offset from each one on. */
export interface ZoneTable {
  readonly transitions: Float64Array;
  /** offset (seconds east of UTC) in force from transitions[i] on */
  readonly offsets: Int32Array;
  /** offset before the first transition */
  readonly initial: number;
  /** for instants after the last transition; undefined: the last offset stays */
  readonly rule: PosixRule | undefined;
}

/** An IANA name as a relative path inside the zoneinfo directory (no `..`, no absolute path), or null. */
function zonePath(dir: string, zone: string): string | null {
  if (!/^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/.test(zone)) return null;
  return join(dir, zone);
}

/** Reads and parses the TZif file of `zone`; null when the file is not there or is not TZif. */
export function loadZoneTable(zone: string, dir = SYSTEM_ZONEINFO_DIR): ZoneTable | null {
  const path = zonePath(dir, zone);
  if (path === null) return null;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  try {
    return parseTzif(bytes);
  } catch {
    return null;
  }
}

/** Parses a TZif file (versions 1–4); throws on a malformed one. */
export function parseTzif(b: Buffer): ZoneTable {
  const header = (at: number) => {
    if (b.toString('latin1', at, at + 4) !== 'TZif') throw new Error(`no TZif header at byte ${at}`);
    return {
      version: b[at + 4] ?? 0,
      isutcnt: b.readUInt32BE(at + 20),
      isstdcnt: b.readUInt32BE(at + 24),
      leapcnt: b.readUInt32BE(at + 28),
      timecnt: b.readUInt32BE(at + 32),
      typecnt: b.readUInt32BE(at + 36),
      charcnt: b.readUInt32BE(at + 40),
    };
  };
  const blockSize = (h: ReturnType<typeof header>, timeSize: number): number =>
    h.timecnt * timeSize + h.timecnt + h.typecnt * 6 + h.charcnt + h.leapcnt * (timeSize + 4) + h.isstdcnt + h.isutcnt;
  const v1 = header(0);
  let h = v1;
  let at = 44;
  let timeSize = 4;
  if (v1.version !== 0) {
    // Version 2+: skip the 32-bit block; the 64-bit one follows with its own header, then the footer.
    at = 44 + blockSize(v1, 4);
    h = header(at);
    at += 44;
    timeSize = 8;
  }
  if (h.typecnt === 0) throw new Error('TZif without local time types');
  // The right/ zones count leap seconds in their transition times; civil time here never does.
  if (h.leapcnt > 0) throw new Error('TZif with leap seconds (a right/ zone)');
  const transitions = new Float64Array(h.timecnt);
  for (let i = 0; i < h.timecnt; i++) {
    transitions[i] = timeSize === 8 ? Number(b.readBigInt64BE(at + i * 8)) : b.readInt32BE(at + i * 4);
  }
  const idxAt = at + h.timecnt * timeSize;
  const typesAt = idxAt + h.timecnt;
  const typeOffset = (t: number): number => {
    if (t >= h.typecnt) throw new Error(`TZif transition to type ${t} of ${h.typecnt}`);
    return b.readInt32BE(typesAt + t * 6);
  };
  const offsets = new Int32Array(h.timecnt);
  for (let i = 0; i < h.timecnt; i++) offsets[i] = typeOffset(b[idxAt + i] ?? 0);
  let rule: PosixRule | undefined;
  if (timeSize === 8) {
    const footerAt = at + blockSize(h, 8);
    const end = b.indexOf(0x0a, footerAt + 1);
    if (b[footerAt] !== 0x0a || end < 0) throw new Error('TZif footer missing');
    const tz = b.toString('latin1', footerAt + 1, end);
    if (tz !== '') rule = parsePosixTz(tz);
  }
  // RFC 8536 3.2: before the first transition, local time type 0 applies.
  return { transitions, offsets, initial: typeOffset(0), rule };
}

/** Parses a POSIX TZ string as TZif footers use it (RFC 8536 3.3, incl. hours −167…167 in rule times). */
export function parsePosixTz(tz: string): PosixRule {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`TZ string ${JSON.stringify(tz)}: ${what} at ${i}`);
  };
  const name = (): void => {
    if (tz[i] === '<') {
      const close = tz.indexOf('>', i);
      if (close < 0) fail('unclosed <name>');
      i = close + 1;
    } else {
      const m = /^[A-Za-z]{3,}/.exec(tz.slice(i));
      if (m === null) fail('zone abbreviation expected');
      i += (m as RegExpExecArray)[0].length;
    }
  };
  /** [+-]hh[:mm[:ss]] in seconds */
  const time = (): number => {
    const m = /^([+-]?)(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?/.exec(tz.slice(i));
    if (m === null) return fail('time expected');
    i += m[0].length;
    const s = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? -s : s;
  };
  const ruleDate = (): RuleDate => {
    let d: RuleDate;
    const mwd = /^M(\d{1,2})\.(\d)\.(\d)/.exec(tz.slice(i));
    const jul = /^J(\d{1,3})/.exec(tz.slice(i));
    const zero = /^(\d{1,3})/.exec(tz.slice(i));
    if (mwd !== null) {
      i += mwd[0].length;
      d = { kind: 'month-week-day', month: Number(mwd[1]), week: Number(mwd[2]), weekday: Number(mwd[3]), time: 7200 };
    } else if (jul !== null) {
      i += jul[0].length;
      d = { kind: 'julian-no-leap', day: Number(jul[1]), time: 7200 };
    } else if (zero !== null) {
      i += zero[0].length;
      d = { kind: 'zero-based', day: Number(zero[1]), time: 7200 };
    } else return fail('rule date expected');
    if (tz[i] === '/') {
      i++;
      d.time = time();
    }
    return d;
  };
  name();
  // POSIX offsets are west of Greenwich (UTC−3 is `3`); ours are east.
  const std = 0 - time();
  if (i === tz.length) return { std };
  name();
  let dstOffset = std + 3600;
  if (tz[i] !== ',' && i < tz.length) dstOffset = 0 - time();
  if (tz[i] !== ',') return fail('DST rule expected');
  i++;
  const start = ruleDate();
  if (tz[i] !== ',') fail('DST end expected');
  i++;
  const end = ruleDate();
  if (i !== tz.length) fail('trailing characters');
  return { std, dst: { offset: dstOffset, start, end } };
}

const DAY_S = 86_400;

/** UTC seconds of local midnight (no offset applied) starting the rule's day in `year`, plus its time. */
function ruleLocalSeconds(d: RuleDate, year: number): number {
  const jan1 = Date.UTC(year, 0, 1) / 1000;
  if (d.kind === 'zero-based') return jan1 + d.day * DAY_S + d.time;
  if (d.kind === 'julian-no-leap') {
    // Jn: 1…365, February 29 never counted.
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const day = d.day - 1 + (leap && d.day >= 60 ? 1 : 0);
    return jan1 + day * DAY_S + d.time;
  }
  // Mm.w.d: day d (0 = Sunday) of week w (5 = the last) of month m.
  const first = Date.UTC(year, d.month - 1, 1) / 1000;
  const firstWeekday = new Date(first * 1000).getUTCDay();
  let day = 1 + ((d.weekday - firstWeekday + 7) % 7) + (d.week - 1) * 7;
  const daysInMonth = new Date(Date.UTC(year, d.month, 0)).getUTCDate();
  while (day > daysInMonth) day -= 7;
  return first + (day - 1) * DAY_S + d.time;
}

/** The offset a POSIX rule gives at UTC second `t`. */
function ruleOffset(rule: PosixRule, t: number): number {
  if (rule.dst === undefined) return rule.std;
  const { offset: dst, start, end } = rule.dst;
  const year = new Date((t + rule.std) * 1000).getUTCFullYear();
  // The switch into DST is given in standard time, the switch out in DST.
  const inDst = (y: number): boolean => {
    const s = ruleLocalSeconds(start, y) - rule.std;
    const e = ruleLocalSeconds(end, y) - dst;
    return s < e ? t >= s && t < e : t < e || t >= s;
  };
  // Southern-hemisphere rules span the new year: this year's rule decides for t in this year.
  return inDst(year) ? dst : rule.std;
}

/** local − UTC in ms at instant `utcMs`. */
export function zoneOffsetMs(table: ZoneTable, utcMs: number): number {
  const t = Math.floor(utcMs / 1000);
  const { transitions, offsets } = table;
  const n = transitions.length;
  if (n === 0 || t < (transitions[0] as number)) {
    return (n === 0 && table.rule !== undefined ? ruleOffset(table.rule, t) : table.initial) * 1000;
  }
  if (t >= (transitions[n - 1] as number) && table.rule !== undefined) return ruleOffset(table.rule, t) * 1000;
  // the last transition at or before t
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((transitions[mid] as number) <= t) lo = mid;
    else hi = mid - 1;
  }
  return (offsets[lo] as number) * 1000;
}
