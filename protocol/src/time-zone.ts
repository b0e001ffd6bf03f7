import * as z from 'zod';

/** Whether the runtime's ICU knows an IANA zone name (e.g. America/Sao_Paulo). */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone: municipalities keep local days, programs and billing days in it. */
export const TimeZoneSchema = z.string().refine(isValidTimeZone, 'unknown IANA time zone');

/**
 * A formatter giving wall-clock parts in `timeZone`. Creating one costs far more than using it:
 * hot paths keep one per zone and call offsetMsWith.
 */
export function wallClockFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

/** local − UTC in ms at instant `utcMs`, from a wallClockFormatter. Intl knows DST and historic rules. */
export function offsetMsWith(fmt: Intl.DateTimeFormat, utcMs: number): number {
  let y = 0,
    mo = 0,
    d = 0,
    h = 0,
    mi = 0,
    s = 0;
  for (const p of fmt.formatToParts(new Date(utcMs))) {
    const v = Number(p.value);
    if (p.type === 'year') y = v;
    else if (p.type === 'month') mo = v;
    else if (p.type === 'day') d = v;
    else if (p.type === 'hour') h = v;
    else if (p.type === 'minute') mi = v;
    else if (p.type === 'second') s = v;
  }
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(utcMs / 1000) * 1000;
}

/** UTC offset of an IANA zone at an instant, minutes (e.g. −180 for America/Sao_Paulo). */
export function utcOffsetMinutes(timeZone: string, atMs: number): number {
  return Math.round(offsetMsWith(wallClockFormatter(timeZone), atMs) / 60_000);
}
