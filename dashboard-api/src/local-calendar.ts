import { offsetMsWith, wallClockFormatter } from '@poste/protocol';

export type Granularity = 'hour' | 'day' | 'month';

const pad = (n: number) => String(n).padStart(2, '0');
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local calendar label of an instant in `timeZone`: `YYYY-MM-DDTHH`, `YYYY-MM-DD` or `YYYY-MM`. */
export function localLabel(utcMs: number, timeZone: string, g: Granularity): string {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = wallClockFormatter(timeZone);
    formatters.set(timeZone, fmt);
  }
  const d = new Date(utcMs + offsetMsWith(fmt, utcMs));
  const ym = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
  if (g === 'month') return ym;
  const ymd = `${ym}-${pad(d.getUTCDate())}`;
  return g === 'day' ? ymd : `${ymd}T${pad(d.getUTCHours())}`;
}
