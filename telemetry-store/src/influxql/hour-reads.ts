import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import type { LuminaireHour, StatusCounts } from '../types';
import type { InfluxQLSeries } from './reads';

/**
 * The fields of `luminaire_hour` a LuminaireHour is made of (rollup-points.ts writes them): only
 * these are selected. `SELECT *` also brought the chain values and masks (13 fields), and InfluxDB
 * 1.6's cost of a raw read is per series-field and per value read: a municipality-day (300
 * luminaires × 24 h) answered in 110 ms with `*`, in ~half with these five.
 */
export const LUMINAIRE_HOUR_FIELDS = ['d0', 'd1', 'readings', 'grp', 'status_counts'] as const;

/**
 * InfluxQL series of `SELECT "d0","d1","readings","grp","status_counts" … GROUP BY <key tags>` as
 * LuminaireHours sorted by hour then series key, converted column-wise: column positions are found
 * once per series and each row becomes its LuminaireHour directly. The generic path (a record
 * object per row with the tags spread in, then a RollupRow, then a LuminaireHour, a JSON.parse of
 * status_counts each) took ~220 ms for 7,200 rows under load, one synchronous stretch that stalled
 * the dashboard's event loop (store-reads bench: loop_stall_max_ms).
 */
export function luminaireHoursOf(series: readonly InfluxQLSeries[]): LuminaireHour[] {
  const out: LuminaireHour[] = [];
  // status_counts repeats (most hours: every reading ok): each distinct text is parsed once.
  const parsed = new Map<string, StatusCounts>();
  const counts = (v: unknown): StatusCounts => {
    if (typeof v !== 'string') return {};
    let c = parsed.get(v);
    if (!c) {
      c = JSON.parse(v) as StatusCounts;
      parsed.set(v, c);
    }
    return { ...c };
  };
  const [mTag, gTag, lTag] = SERIES_KEY_TAGS.luminaire;
  for (const s of series) {
    const tags = s.tags ?? {};
    const at = (c: string) => s.columns.indexOf(c);
    const [iTime, iD0, iD1, iReadings, iGrp, iStatus] = [at('time'), at('d0'), at('d1'), at('readings'), at('grp'), at('status_counts')];
    const municipality = tags[mTag] ?? '';
    const gateway = tags[gTag] ?? '';
    const luminaire = tags[lTag] ?? '';
    for (const row of s.values) {
      const grp = iGrp >= 0 ? row[iGrp] : undefined;
      out.push({
        hourStart: Number(row[iTime]),
        municipality,
        gateway,
        luminaire,
        group: typeof grp === 'string' && grp !== '' ? grp : UNGROUPED,
        energyWh: numberAt(row, iD0),
        litHours: numberAt(row, iD1),
        readings: numberAt(row, iReadings),
        statusCounts: iStatus >= 0 ? counts(row[iStatus]) : {},
      });
    }
  }
  return out.sort(compareHours);
}

function numberAt(row: readonly unknown[], i: number): number {
  if (i < 0) return 0;
  const v = row[i];
  return typeof v === 'number' ? v : 0;
}

/** Hour, then municipality, gateway, luminaire (compareRows' order for rollup rows). */
function compareHours(a: LuminaireHour, b: LuminaireHour): number {
  if (a.hourStart !== b.hourStart) return a.hourStart - b.hourStart;
  if (a.municipality !== b.municipality) return a.municipality < b.municipality ? -1 : 1;
  if (a.gateway !== b.gateway) return a.gateway < b.gateway ? -1 : 1;
  if (a.luminaire !== b.luminaire) return a.luminaire < b.luminaire ? -1 : 1;
  return 0;
}
