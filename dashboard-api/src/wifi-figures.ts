import type { ApHour } from '@poste/telemetry-store';
import type { Inventory } from './inventory';
import { type Granularity, localLabel } from './local-calendar';

/**
 * Coproduced Wi-Fi figures from the store's hourly AP rollups (pure). Bytes per class, telemedicine
 * sessions and the reserve's seconds are exact sums of the APs' reset-aware counter deltas;
 * `telemedicineClientHours` is the mean number of telemedicine clients times the hours.
 */
export interface ClassBytes {
  household: number;
  public: number;
  telemedicine: number;
}

/** Seconds the households' reserve was measured and honoured, and the share (null: never measured). */
export interface ReserveFigures {
  measuredS: number;
  honouredS: number;
  honouredPct: number | null;
}

export interface WifiPoint {
  period: string;
  bytes: ClassBytes;
  telemedicineClientHours: number;
  telemedicineSessions: number;
  reserve: ReserveFigures;
  aps: number;
}

export const reserveOf = (measuredS: number, honouredS: number): ReserveFigures => ({
  measuredS,
  honouredS,
  honouredPct: measuredS > 0 ? (100 * honouredS) / measuredS : null,
});

/** Adds an hour's reserve seconds to running figures (the share recomputed). */
export function addReserve(r: ReserveFigures, h: Pick<ApHour, 'reserve'>): void {
  r.measuredS += h.reserve.measuredS;
  r.honouredS += h.reserve.honouredS;
  r.honouredPct = r.measuredS > 0 ? (100 * r.honouredS) / r.measuredS : null;
}

const municipalityOfAp = (h: Pick<ApHour, 'municipality' | 'gateway'>, inventory: Inventory) =>
  inventory.municipality(h.municipality) ?? inventory.municipality(inventory.gateways[h.gateway] ?? '');

/** Bytes per class per local hour/day/month of each AP's municipality; rows of unknown municipalities are left out. */
export function wifiSeries(
  hours: readonly ApHour[],
  inventory: Inventory,
  granularity: Granularity,
): { points: WifiPoint[]; bytes: ClassBytes; telemedicineSessions: number; reserve: ReserveFigures } {
  const buckets = new Map<string, { p: WifiPoint; aps: Set<string> }>();
  const bytes: ClassBytes = { household: 0, public: 0, telemedicine: 0 };
  const reserve = reserveOf(0, 0);
  let telemedicineSessions = 0;
  for (const h of hours) {
    const m = municipalityOfAp(h, inventory);
    if (!m) continue;
    const period = localLabel(h.hourStart, m.timeZone, granularity);
    let b = buckets.get(period);
    if (!b) {
      b = {
        p: {
          period,
          bytes: { household: 0, public: 0, telemedicine: 0 },
          telemedicineClientHours: 0,
          telemedicineSessions: 0,
          reserve: reserveOf(0, 0),
          aps: 0,
        },
        aps: new Set(),
      };
      buckets.set(period, b);
    }
    for (const k of ['household', 'public', 'telemedicine'] as const) {
      b.p.bytes[k] += h.bytes[k];
      bytes[k] += h.bytes[k];
    }
    b.p.telemedicineClientHours += h.clientsAvg.telemedicine;
    b.p.telemedicineSessions += h.telemedicineSessions;
    telemedicineSessions += h.telemedicineSessions;
    addReserve(b.p.reserve, h);
    addReserve(reserve, h);
    b.aps.add(h.ap);
    b.p.aps = b.aps.size;
  }
  const points = [...buckets.values()].map((b) => b.p).sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
  return { points, bytes, telemedicineSessions, reserve };
}

export interface FreePointFigures {
  ap: string;
  name: string;
  municipality: string;
  lat?: number;
  lon?: number;
  /** % of the range's hours in which the point reported */
  uptimePct: number;
  clientsAvg: number;
  clientsMax: number;
  capacityKbps: number;
  /** kbit/s left in its last reported hour: capacity − mean throughput of all classes */
  spareKbps: number;
  thresholdKbps: number;
  belowQuality: boolean;
  lastHour?: number;
}

/** The programme's free Wi-Fi points over [from, to): uptime, clients, spare capacity against each municipality's threshold. */
export function freePointFigures(hours: readonly ApHour[], inventory: Inventory, range: { from: number; to: number }): FreePointFigures[] {
  const totalHours = Math.max(1, Math.round((range.to - range.from) / 3_600_000));
  const byAp = new Map<string, ApHour[]>();
  for (const h of hours) {
    if (!inventory.aps[h.ap]?.freePoint) continue;
    const list = byAp.get(h.ap) ?? [];
    list.push(h);
    byAp.set(h.ap, list);
  }
  const out: FreePointFigures[] = [];
  for (const [ap, entry] of Object.entries(inventory.aps)) {
    if (!entry.freePoint) continue;
    const list = (byAp.get(ap) ?? []).sort((a, b) => a.hourStart - b.hourStart);
    const last = list.at(-1);
    const m = last ? municipalityOfAp(last, inventory) : undefined;
    const threshold = m?.wifiQualityKbps ?? 0;
    const usedKbps = last ? ((last.bytes.household + last.bytes.public + last.bytes.telemedicine) * 8) / 3600 / 1000 : 0;
    const spare = last ? Math.max(0, last.capacityKbpsAvg - usedKbps) : 0;
    out.push({
      ap,
      name: entry.name ?? ap,
      municipality: m?.id ?? '',
      ...(entry.lat !== undefined ? { lat: entry.lat } : {}),
      ...(entry.lon !== undefined ? { lon: entry.lon } : {}),
      uptimePct: (100 * list.length) / totalHours,
      clientsAvg: list.length ? list.reduce((s, h) => s + h.clients.avg, 0) / list.length : 0,
      clientsMax: list.reduce((s, h) => Math.max(s, h.clients.max), 0),
      capacityKbps: last?.capacityKbpsAvg ?? 0,
      spareKbps: spare,
      thresholdKbps: threshold,
      belowQuality: !last || spare < threshold,
      ...(last ? { lastHour: last.hourStart } : {}),
    });
  }
  return out.sort((a, b) => (a.municipality + a.ap < b.municipality + b.ap ? -1 : 1));
}
