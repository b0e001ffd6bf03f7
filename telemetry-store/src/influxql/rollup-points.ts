import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import { type ApRow, type LuminaireRow, ROLLED_COUNTERS, type RolledMeasurement, type RollupRow } from '../rollups/rows';
import type { Point } from '../types';

/** InfluxDB measurement holding a measurement's hourly rollups (one point per series and hour). */
export const ROLLUP_MEASUREMENT = { luminaire: 'luminaire_hour', ap: 'ap_hour' } as const satisfies Record<RolledMeasurement, string>;

/**
 * A rollup row as an InfluxDB point at its hourStart, tagged with the series key only (a
 * luminaire's group is a field, so a group change does not split the rollup series). Rewriting
 * it replaces it: InfluxDB's overwrite is what a rollup update wants.
 */
export function rowToPoint(m: RolledMeasurement, r: RollupRow): Omit<Point, 'measurement'> & { measurement: string } {
  const tags: Record<string, string> = {};
  SERIES_KEY_TAGS[m].forEach((t, i) => {
    tags[t] = r.key[i] ?? '';
  });
  const fields: Record<string, number | string> = { readings: r.readings, first_ts: r.firstTs, last_ts: r.lastTs };
  r.deltas.forEach((v, i) => {
    fields[`d${i}`] = v;
  });
  // A chain value is missing until the series reported that counter once. A repair can make it
  // missing again (the reading that set it was never stored), and a rewrite merges its fields into
  // the stored point's, so the old value would stay: which values are set is written as a bit mask.
  fields.s_set = chainMask(r.startChain);
  fields.c_set = chainMask(r.chain);
  r.startChain.forEach((v, i) => {
    if (v !== null) fields[`s${i}`] = v;
  });
  r.chain.forEach((v, i) => {
    if (v !== null) fields[`c${i}`] = v;
  });
  if (m === 'luminaire') {
    const l = r as LuminaireRow;
    fields.grp = l.group;
    fields.status_counts = JSON.stringify(l.statusCounts);
  } else {
    const a = r as ApRow;
    Object.assign(fields, {
      clients_max: a.clientsMax,
      clients_sum: a.clientsSum,
      clients_household_sum: a.clientsHouseholdSum,
      clients_public_sum: a.clientsPublicSum,
      clients_telemedicine_sum: a.clientsTelemedicineSum,
      capacity_sum: a.capacitySum,
    });
  }
  return { measurement: ROLLUP_MEASUREMENT[m], tags, fields, ts: r.hourStart };
}

/** A rollup point read back through InfluxQL (`time` in ms; tags either as columns or as the series' tags). */
export function rowFromRecord(m: RolledMeasurement, o: Record<string, unknown>): RollupRow {
  const n = ROLLED_COUNTERS[m].length;
  const num = (k: string) => Number(o[k] ?? 0);
  // Rows written before the mask: a value is set where its field is.
  const chain = (prefix: string) => {
    const mask = o[`${prefix}_set`];
    return Array.from({ length: n }, (_, i) => {
      const v = o[`${prefix}${i}`];
      const set = typeof mask === 'number' ? Math.floor(mask / 2 ** i) % 2 === 1 : true;
      return set && typeof v === 'number' ? v : null;
    });
  };
  const base = {
    hourStart: Number(o.time),
    key: SERIES_KEY_TAGS[m].map((t) => String(o[t] ?? '')),
    readings: num('readings'),
    firstTs: num('first_ts'),
    lastTs: num('last_ts'),
    deltas: Array.from({ length: n }, (_, i) => num(`d${i}`)),
    startChain: chain('s'),
    chain: chain('c'),
  };
  if (m === 'luminaire') {
    return {
      ...base,
      group: typeof o.grp === 'string' && o.grp !== '' ? o.grp : UNGROUPED,
      statusCounts: JSON.parse(typeof o.status_counts === 'string' ? o.status_counts : '{}') as Record<string, number>,
    };
  }
  return {
    ...base,
    clientsMax: num('clients_max'),
    clientsSum: num('clients_sum'),
    clientsHouseholdSum: num('clients_household_sum'),
    clientsPublicSum: num('clients_public_sum'),
    clientsTelemedicineSum: num('clients_telemedicine_sum'),
    capacitySum: num('capacity_sum'),
  };
}

/** Bit i set when chain value i is known. */
function chainMask(chain: readonly (number | null)[]): number {
  return chain.reduce<number>((mask, v, i) => (v === null ? mask : mask + 2 ** i), 0);
}
