import type { LuminaireHour } from '@poste/telemetry-store';
import { baselineWattsOf, emptyTotals, luminaireContribution, municipalityOf, type EnergyTotals } from './energy';
import type { Inventory } from './inventory';
import { type Granularity, localLabel } from './local-calendar';

/**
 * Energy over time from the store's hourly per-luminaire rollups (pure). Each UTC hour is placed in
 * its municipality's local calendar (hour, day or month), so a programme-wide day sums every
 * municipality's own local day; the figures are those of energy.ts, per luminaire-hour:
 * - measured, retrofit baseline, savings, R$, CO2 exactly as the range report;
 * - billing baseline = baselineW × estimatedDailyHours / 24 per luminaire-hour with data, i.e.
 *   baselineW × estimatedDailyHours × days for a luminaire that reported all along.
 * Sums stay at full precision; the route rounds for presentation.
 */
export type { Granularity };

export interface SeriesPoint extends EnergyTotals {
  /** local calendar label: `YYYY-MM-DDTHH` (hour), `YYYY-MM-DD` (day), `YYYY-MM` (month) */
  period: string;
}

export interface EnergySeries extends EnergyTotals {
  granularity: Granularity;
  from: number;
  to: number;
  points: SeriesPoint[];
  /** hours of luminaires whose municipality the inventory does not know: measured only, outside every figure */
  unassigned: { luminaireHours: number; measuredKwh: number };
}

export interface SeriesFilter {
  /** only this group (group ids are per municipality: combine with municipality) */
  group?: string;
}

export function computeEnergySeries(
  hours: readonly LuminaireHour[],
  inventory: Inventory,
  range: { from: number; to: number; granularity: Granularity },
  filter: SeriesFilter = {},
): EnergySeries {
  const sums = energySeriesSums(inventory, range, filter);
  sums.add(hours, 0, hours.length);
  return sums.result();
}

/**
 * computeEnergySeries as a fold its caller can feed in slices (`add` a range of rows, then
 * `result`): a 2,000-luminaire day is 48,000 rows and ~60 ms of sums, and the API yields to its
 * event loop between slices so that the requests waiting meanwhile are answered (store-reads bench).
 */
export function energySeriesSums(
  inventory: Inventory,
  range: { from: number; to: number; granularity: Granularity },
  filter: SeriesFilter = {},
): { add(hours: readonly LuminaireHour[], start: number, end: number): void; result(): EnergySeries } {
  const buckets = new Map<string, { totals: EnergyTotals; luminaires: Set<string> }>();
  const totals = emptyTotals();
  const all = new Set<string>();
  const unassigned = { luminaireHours: 0, measuredKwh: 0 };
  // Every luminaire of a municipality shares its hours: each (zone, hour) is placed in the local
  // calendar once (Intl's offset lookup costs far more than the sums of a row).
  const labels = new Map<string, Map<number, string>>();
  const labelOf = (hourStart: number, timeZone: string): string => {
    let zone = labels.get(timeZone);
    if (!zone) {
      zone = new Map();
      labels.set(timeZone, zone);
    }
    let label = zone.get(hourStart);
    if (label === undefined) {
      label = localLabel(hourStart, timeZone, range.granularity);
      zone.set(hourStart, label);
    }
    return label;
  };
  const add = (hours: readonly LuminaireHour[], start: number, end: number): void => {
    for (let i = start; i < end; i++) {
      const h = hours[i]!;
      if (filter.group !== undefined && h.group !== filter.group) continue;
      const m = municipalityOf(h, inventory);
      if (!m) {
        unassigned.luminaireHours += 1;
        unassigned.measuredKwh += h.energyWh / 1000;
        continue;
      }
      const period = labelOf(h.hourStart, m.timeZone);
      const c = luminaireContribution(h, baselineWattsOf(h.luminaire, m, inventory), m, 1 / 24);
      let b = buckets.get(period);
      if (!b) {
        b = { totals: emptyTotals(), luminaires: new Set() };
        buckets.set(period, b);
      }
      const key = `${m.id}\u0000${h.luminaire}`;
      for (const k of Object.keys(c) as (keyof EnergyTotals)[]) {
        if (k === 'luminaires' || k === 'nominalLoadW') continue;
        b.totals[k] += c[k];
        totals[k] += c[k];
      }
      // A luminaire counts once per bucket (and once overall), with its nominal load.
      if (!b.luminaires.has(key)) {
        b.luminaires.add(key);
        b.totals.luminaires += 1;
        b.totals.nominalLoadW += c.nominalLoadW;
      }
      if (!all.has(key)) {
        all.add(key);
        totals.luminaires += 1;
        totals.nominalLoadW += c.nominalLoadW;
      }
    }
  };
  const result = (): EnergySeries => {
    const points = [...buckets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([period, b]) => ({ period, ...b.totals }));
    return { granularity: range.granularity, from: range.from, to: range.to, ...totals, points, unassigned };
  };
  return { add, result };
}
