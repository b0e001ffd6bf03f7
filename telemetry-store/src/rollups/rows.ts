import { counterDelta } from '../counter-deltas';
import { SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import type { ApHour, LuminaireHour, Point } from '../types';

/** One UTC hour in ms. */
export const HOUR_MS = 3_600_000;

/** Start of the UTC hour holding `ts`. */
export function hourOf(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

/** Measurements that have hourly rollups. */
export type RolledMeasurement = 'luminaire' | 'ap';

/**
 * The counters a series chains, per measurement: each reading contributes the reset-aware delta of
 * each counter from the last non-missing value before it (../counter-deltas.ts).
 */
export const ROLLED_COUNTERS = {
  luminaire: ['activeEnergy', 'operatingHours'],
  // The coproduction counters came later: appended, so stored rows keep their counters' positions.
  ap: ['bytesHousehold', 'bytesPublic', 'bytesTelemedicine', 'telemedicineSessions', 'reserveMeasuredS', 'reserveHonouredS'],
} as const satisfies Record<RolledMeasurement, readonly string[]>;

/**
 * How many of each measurement's counters the first rollup tables had: the embedded store keeps
 * those columns where they were and adds the later ones at the end of the table (rollup-tables.ts).
 */
export const FIRST_ROLLED_COUNTERS = { luminaire: 2, ap: 3 } as const satisfies Record<RolledMeasurement, number>;

/** The last known value of each counter of a series (null: never seen), carried across hours. */
export type Chain = Array<number | null>;

/**
 * What the stores keep per series and hour: the public figures plus what maintenance needs — the
 * hour's first and last reading ts and the counters' chain values at the end of the hour (the
 * "previous reading" of the next hour's first reading).
 */
export interface RollupRowBase {
  hourStart: number;
  /** series-key tag values, in SERIES_KEY_TAGS order */
  key: readonly string[];
  readings: number;
  firstTs: number;
  lastTs: number;
  /** per ROLLED_COUNTERS entry: sum of deltas of the hour's readings */
  deltas: number[];
  /** the chain before the hour's first reading (what a partial-hour read starts from) */
  startChain: Chain;
  /** the chain after the hour's last reading */
  chain: Chain;
}

export interface LuminaireRow extends RollupRowBase {
  group: string;
  statusCounts: Record<string, number>;
}

export interface ApRow extends RollupRowBase {
  clientsMax: number;
  /** sums over the hour's readings, divided by readings when read */
  clientsSum: number;
  clientsHouseholdSum: number;
  clientsPublicSum: number;
  clientsTelemedicineSum: number;
  capacitySum: number;
}

export type RollupRow = LuminaireRow | ApRow;

/** A series key as one string: its tag values joined by NUL (a character no valid tag value holds). */
export function keyId(key: readonly string[]): string {
  return key.join('\u0000');
}

/** The series key of a point as one string (keyId of its series-key tag values). */
export function seriesId(p: Point): string {
  const tags = SERIES_KEY_TAGS[p.measurement];
  let id = p.tags[tags[0]] ?? '';
  for (let i = 1; i < tags.length; i++) id += `\u0000${p.tags[tags[i]!] ?? ''}`;
  return id;
}

/** Series keys of frozen tags objects (immutable, so the key cannot go stale), by measurement. */
const SHARED_SERIES_KEYS = new WeakMap<object, { measurement: string; key: string }>();

/**
 * `measurement|seriesId`: how the rollup maintainer names a series. Ingest gives every point of a
 * device the same frozen tags object (broker/src/ingest/points.ts); for those the key is built
 * once and then found by identity (a weak-map hit instead of building and hashing a new string
 * for every point). Unfrozen tags are keyed afresh each time, as before.
 */
export function seriesKeyOfPoint(p: Point): string {
  const tags = p.tags;
  if (!Object.isFrozen(tags)) return `${p.measurement}|${seriesId(p)}`;
  const cached = SHARED_SERIES_KEYS.get(tags);
  if (cached !== undefined && cached.measurement === p.measurement) return cached.key;
  const key = `${p.measurement}|${seriesId(p)}`;
  if (cached === undefined) SHARED_SERIES_KEYS.set(tags, { measurement: p.measurement, key });
  return key;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Folds one hour's readings (sorted by ts, one per ts, all of one series, all in the hour) onto the
 * chain left by the series' previous readings. The one place the rollup arithmetic lives: every
 * store's maintenance and the reference recomputation call it, so they cannot disagree.
 */
export function reduceHour(m: 'luminaire', prev: Chain | undefined, readings: readonly Point[]): LuminaireRow;
export function reduceHour(m: 'ap', prev: Chain | undefined, readings: readonly Point[]): ApRow;
export function reduceHour(m: RolledMeasurement, prev: Chain | undefined, readings: readonly Point[]): RollupRow;
export function reduceHour(m: RolledMeasurement, prev: Chain | undefined, readings: readonly Point[]): RollupRow {
  const first = readings[0];
  if (first === undefined) throw new RangeError('reduceHour: no readings');
  const counters = ROLLED_COUNTERS[m];
  const chain: Chain = prev ? [...prev] : counters.map(() => null);
  const deltas = counters.map(() => 0);
  const base: RollupRowBase = {
    hourStart: hourOf(first.ts),
    key: SERIES_KEY_TAGS[m].map((t) => first.tags[t] ?? ''),
    readings: 0,
    firstTs: first.ts,
    lastTs: first.ts,
    deltas,
    startChain: [...chain],
    chain,
  };
  const row: RollupRow =
    m === 'luminaire'
      ? { ...base, group: UNGROUPED, statusCounts: {} }
      : {
          ...base,
          clientsMax: 0,
          clientsSum: 0,
          clientsHouseholdSum: 0,
          clientsPublicSum: 0,
          clientsTelemedicineSum: 0,
          capacitySum: 0,
        };
  for (const p of readings) addReading(m, row, p);
  return row;
}

/** Adds one reading, later than every reading already in `row`, of the row's hour. Mutates `row`. */
export function addReading(m: RolledMeasurement, row: RollupRow, p: Point): void {
  const counters = ROLLED_COUNTERS[m];
  counters.forEach((c, i) => {
    const v = num(p.fields[c]);
    if (v === null) return;
    const before = row.chain[i];
    if (before !== null && before !== undefined) row.deltas[i]! += counterDelta(before, v);
    row.chain[i] = v;
  });
  if (row.readings === 0) row.firstTs = p.ts;
  row.readings += 1;
  row.lastTs = p.ts;
  if ('statusCounts' in row) {
    const group = p.tags.group;
    row.group = typeof group === 'string' && group !== '' ? group : UNGROUPED;
    const status = typeof p.fields.status === 'string' ? p.fields.status : 'unknown';
    row.statusCounts[status] = (row.statusCounts[status] ?? 0) + 1;
  } else {
    const h = num(p.fields.clientsHousehold) ?? 0;
    const pub = num(p.fields.clientsPublic) ?? 0;
    const t = num(p.fields.clientsTelemedicine) ?? 0;
    row.clientsMax = Math.max(row.clientsMax, h + pub + t);
    row.clientsSum += h + pub + t;
    row.clientsHouseholdSum += h;
    row.clientsPublicSum += pub;
    row.clientsTelemedicineSum += t;
    row.capacitySum += num(p.fields.capacityKbps) ?? 0;
  }
}

/**
 * A deep copy (rows are mutated by addReading; stores keep their committed copy). The maintainer
 * copies a series' row once per write that touches it — about once per point on ingest's path — so
 * the copy is spelled out (one object literal of the row's own shape, slice()d arrays): spreads
 * took half the planner's time.
 */
export function cloneRow<R extends RollupRow>(row: R): R {
  const deltas = row.deltas.slice();
  const startChain = row.startChain.slice();
  const chain = row.chain.slice();
  if ('statusCounts' in row) {
    const statusCounts: Record<string, number> = {};
    for (const status in row.statusCounts) statusCounts[status] = row.statusCounts[status]!;
    const l: LuminaireRow = {
      hourStart: row.hourStart,
      key: row.key,
      readings: row.readings,
      firstTs: row.firstTs,
      lastTs: row.lastTs,
      deltas,
      startChain,
      chain,
      group: row.group,
      statusCounts,
    };
    return l as R;
  }
  const a: ApRow = {
    hourStart: row.hourStart,
    key: row.key,
    readings: row.readings,
    firstTs: row.firstTs,
    lastTs: row.lastTs,
    deltas,
    startChain,
    chain,
    clientsMax: row.clientsMax,
    clientsSum: row.clientsSum,
    clientsHouseholdSum: row.clientsHouseholdSum,
    clientsPublicSum: row.clientsPublicSum,
    clientsTelemedicineSum: row.clientsTelemedicineSum,
    capacitySum: row.capacitySum,
  };
  return a as R;
}

export function toLuminaireHour(r: LuminaireRow): LuminaireHour {
  const [municipality = '', gateway = '', luminaire = ''] = r.key;
  return {
    hourStart: r.hourStart,
    municipality,
    gateway,
    luminaire,
    group: r.group,
    energyWh: r.deltas[0] ?? 0,
    litHours: r.deltas[1] ?? 0,
    readings: r.readings,
    statusCounts: { ...r.statusCounts },
  };
}

export function toApHour(r: ApRow): ApHour {
  const [municipality = '', gateway = '', ap = ''] = r.key;
  const n = r.readings || 1;
  return {
    hourStart: r.hourStart,
    municipality,
    gateway,
    ap,
    bytes: { household: r.deltas[0] ?? 0, public: r.deltas[1] ?? 0, telemedicine: r.deltas[2] ?? 0 },
    clients: { max: r.clientsMax, avg: r.clientsSum / n },
    clientsAvg: { household: r.clientsHouseholdSum / n, public: r.clientsPublicSum / n, telemedicine: r.clientsTelemedicineSum / n },
    capacityKbpsAvg: r.capacitySum / n,
    readings: r.readings,
    telemedicineSessions: r.deltas[3] ?? 0,
    reserve: { measuredS: r.deltas[4] ?? 0, honouredS: r.deltas[5] ?? 0 },
  };
}

/** Sort order of rollup reads: hour, then the series key. */
export function compareRows(a: RollupRowBase, b: RollupRowBase): number {
  if (a.hourStart !== b.hourStart) return a.hourStart - b.hourStart;
  for (let i = 0; i < a.key.length; i++) {
    const x = a.key[i] ?? '';
    const y = b.key[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
