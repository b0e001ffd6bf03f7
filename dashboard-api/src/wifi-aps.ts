import type { ApHour } from '@poste/telemetry-store';
import type { Household } from './households/household-schemas';
import { insideWindows } from './households/windows';
import type { Inventory } from './inventory';
import { localLabel } from './local-calendar';
import { addReserve, type ClassBytes, type ReserveFigures, reserveOf } from './wifi-figures';

/**
 * Per-AP and per-household coproduced Wi-Fi figures from the hourly AP rollups (pure): bytes per
 * class, telemedicine sessions and the share of time the household's reserve was honoured, all
 * exact sums of the APs' reset-aware counter deltas.
 */
export interface ApFigures {
  ap: string;
  municipality: string;
  freePoint: boolean;
  /** the household that cedes it now, if any (names a household: viewer token and above) */
  household?: { id: string; name: string; cededKbps: number };
  bytes: ClassBytes;
  telemedicineSessions: number;
  reserve: ReserveFigures;
  reportingHours: number;
}

const zeroBytes = (): ClassBytes => ({ household: 0, public: 0, telemedicine: 0 });

/** Every AP with hours in the rollups, sorted by municipality then AP. */
export function apFigures(hours: readonly ApHour[], inventory: Inventory, households: readonly Household[]): ApFigures[] {
  const ceding = new Map(households.filter((h) => h.state === 'active').map((h) => [h.ap, h]));
  const byAp = new Map<string, ApFigures>();
  for (const h of hours) {
    let f = byAp.get(h.ap);
    if (!f) {
      const hh = ceding.get(h.ap);
      f = {
        ap: h.ap,
        municipality: h.municipality || (inventory.gateways[h.gateway] ?? ''),
        freePoint: inventory.aps[h.ap]?.freePoint ?? false,
        ...(hh ? { household: { id: hh.id, name: hh.name, cededKbps: hh.cededKbps } } : {}),
        bytes: zeroBytes(),
        telemedicineSessions: 0,
        reserve: reserveOf(0, 0),
        reportingHours: 0,
      };
      byAp.set(h.ap, f);
    }
    for (const k of ['household', 'public', 'telemedicine'] as const) f.bytes[k] += h.bytes[k];
    f.telemedicineSessions += h.telemedicineSessions;
    addReserve(f.reserve, h);
    f.reportingHours += 1;
  }
  return [...byAp.values()].sort((a, b) => (a.municipality + a.ap < b.municipality + b.ap ? -1 : 1));
}

export interface LedgerDay {
  day: string;
  publicBytes: number;
  telemedicineBytes: number;
  telemedicineClientHours: number;
  telemedicineSessions: number;
  /** the household's own reserve over the day: seconds measured, honoured, and the share */
  reserve: ReserveFigures;
  cededHours: number;
  reportingHours: number;
}

export interface Ledger {
  household: string;
  days: LedgerDay[];
  totals: {
    publicBytes: number;
    telemedicineBytes: number;
    telemedicineSessions: number;
    cededHours: number;
    reserve: ReserveFigures;
  };
}

/**
 * A household's contribution ledger per local day, from its AP's hours while it was enrolled: what
 * it gave (public and telemedicine bytes, sessions, hours inside its windows) and what it was
 * promised in return (the share of time its reserve was honoured).
 */
export function householdLedger(h: Household, hours: readonly ApHour[], timeZone: string): Ledger {
  const days = new Map<string, LedgerDay>();
  for (const x of hours) {
    const day = localLabel(x.hourStart, timeZone, 'day');
    let d = days.get(day);
    if (!d) {
      d = {
        day,
        publicBytes: 0,
        telemedicineBytes: 0,
        telemedicineClientHours: 0,
        telemedicineSessions: 0,
        reserve: reserveOf(0, 0),
        cededHours: 0,
        reportingHours: 0,
      };
      days.set(day, d);
    }
    d.publicBytes += x.bytes.public;
    d.telemedicineBytes += x.bytes.telemedicine;
    d.telemedicineClientHours += x.clientsAvg.telemedicine;
    d.telemedicineSessions += x.telemedicineSessions;
    addReserve(d.reserve, x);
    d.reportingHours += 1;
    if (insideWindows(h.windows, x.hourStart, timeZone)) d.cededHours += 1;
  }
  const list = [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
  const sum = (k: 'publicBytes' | 'telemedicineBytes' | 'telemedicineSessions' | 'cededHours') => list.reduce((s, d) => s + d[k], 0);
  const measured = list.reduce((s, d) => s + d.reserve.measuredS, 0);
  const honoured = list.reduce((s, d) => s + d.reserve.honouredS, 0);
  return {
    household: h.id,
    days: list,
    totals: {
      publicBytes: sum('publicBytes'),
      telemedicineBytes: sum('telemedicineBytes'),
      telemedicineSessions: sum('telemedicineSessions'),
      cededHours: sum('cededHours'),
      reserve: reserveOf(measured, honoured),
    },
  };
}
