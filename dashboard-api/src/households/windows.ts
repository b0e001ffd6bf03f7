import { offsetMsWith, wallClockFormatter } from '@poste/protocol';
import type { CedeWindow } from './household-schemas';

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Is `atMs` inside one of the windows, in `timeZone`'s local time? No windows = always. */
export function insideWindows(windows: readonly CedeWindow[], atMs: number, timeZone: string): boolean {
  if (windows.length === 0) return true;
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = wallClockFormatter(timeZone);
    formatters.set(timeZone, fmt);
  }
  const local = new Date(atMs + offsetMsWith(fmt, atMs));
  const day = local.getUTCDay();
  const m = local.getUTCHours() * 60 + local.getUTCMinutes();
  return windows.some((w) => {
    const from = minutes(w.from);
    const to = minutes(w.to);
    if (from <= to) return w.days.includes(day) && m >= from && m < to;
    // Crosses midnight: the evening part belongs to the listed day, the morning part to the next.
    return (w.days.includes(day) && m >= from) || (w.days.includes((day + 6) % 7) && m < to);
  });
}
