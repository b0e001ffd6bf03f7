import type { RefusedPoint } from '../errors';
import type { Point } from '../types';
import {
  addReading,
  cloneRow,
  hourOf,
  HOUR_MS,
  keyId,
  reduceHour,
  ROLLED_COUNTERS,
  type RolledMeasurement,
  type RollupRow,
  seriesId,
  seriesKeyOfPoint,
} from './rows';
import { samePoint } from './same-point';

/** What the maintainer reads from a store's committed data. */
export interface RollupStorage {
  /** the latest row of every series of `m` (read once, at init) */
  latestRows(m: RolledMeasurement): Promise<RollupRow[]>;
  /** the nearest stored row of the series with hourStart < hour, or > hour */
  rowBefore(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined>;
  rowAfter(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined>;
  /** raw points of one series with ts in [from, to) */
  seriesPoints(m: RolledMeasurement, key: readonly string[], from: number, to: number): Promise<Point[]>;
  /** the stored points having the identity (measurement, series key, ts) of any of `points` */
  existing(points: readonly Point[]): Promise<Point[]>;
}

/** A point of the batch as given to write(), with its index there. */
export interface IndexedPoint {
  index: number;
  point: Point;
}

/** What one write must do, as planned before anything is written. */
export interface WritePlan {
  /** new points to write: neither in the store nor earlier in the batch */
  points: Point[];
  /** rollup rows to write (insert or replace by measurement, series and hourStart) */
  rows: Array<{ measurement: RolledMeasurement; row: RollupRow }>;
  /** conflicting duplicates: same identity as a stored or earlier point, another value */
  conflicts: RefusedPoint[];
  /** identical copies of stored or earlier points: nothing to do */
  duplicates: number;
  /** the store calls this once the points and rows are written */
  commit(): void;
}

const ROLLED: ReadonlySet<string> = new Set(['luminaire', 'ap']);

function identity(p: Point, id = seriesId(p)): string {
  return `${p.measurement}|${id}|${p.ts}`;
}

/**
 * Keeps hourly rollups as data arrives and refuses conflicting duplicates, the same way for every
 * store. It holds each series' latest rollup row: a reading later than everything of its series
 * (the common case) is folded onto it with no read; a late reading (or a possible duplicate) makes
 * the maintainer look into the store — which points already exist, and the hours to recompute from
 * raw: the reading's hour, then each following hour whose starting chain changed. Calls must be
 * serialised by the store (plan, write, commit, then the next plan).
 */
export class RollupMaintainer {
  private readonly latest = new Map<string, RollupRow>();

  constructor(private readonly storage: RollupStorage) {}

  /** Reads each series' latest row from the store (at open, and after the store was emptied). */
  async load(): Promise<void> {
    this.reset();
    for (const m of ['luminaire', 'ap'] as const) {
      for (const row of await this.storage.latestRows(m)) this.latest.set(`${m}|${keyId(row.key)}`, row);
    }
  }

  /** Forgets every series (the store was emptied). */
  reset(): void {
    this.latest.clear();
  }

  /**
   * Whether planning `batch` would read the store: true when any point might already be stored
   * (it is not later than its series' latest reading, or its measurement has no rollups). A store
   * that overlaps writes must let the writes before settle first, so the reads see them.
   */
  readsStore(batch: readonly IndexedPoint[]): boolean {
    for (const { point } of batch) {
      if (!ROLLED.has(point.measurement)) return true;
      const row = this.latest.get(seriesKeyOfPoint(point));
      if (row !== undefined && point.ts <= row.lastTs) return true;
    }
    return false;
  }

  /**
   * Rows that make the given hours of each series equal to the raw points stored again, and every
   * following hour whose starting chain changes with them. For a store whose writes overlap: a
   * write planned on top of one that then failed holds rollup rows counting readings that were
   * never stored. Also how a store that buffers its rollup rows rebuilds the rows it had not saved
   * when it stopped (a series may then have no stored row yet). Hours with no stored reading get no row.
   */
  async planRepair(
    hours: ReadonlyMap<string, { m: RolledMeasurement; key: readonly string[]; hours: ReadonlySet<number> }>,
  ): Promise<WritePlan> {
    const rows: WritePlan['rows'] = [];
    const nextLatest = new Map<string, RollupRow>();
    for (const [k, { m, key, hours: seeds }] of hours) {
      const series = await this.recompute(m, key, this.latest.get(k), [], seeds);
      for (const row of series.rows) rows.push({ measurement: m, row });
      if (series.latest) nextLatest.set(k, series.latest);
    }
    return {
      points: [],
      rows,
      conflicts: [],
      duplicates: 0,
      commit: () => {
        for (const [k, row] of nextLatest) this.latest.set(k, row);
      },
    };
  }

  async plan(batch: readonly IndexedPoint[]): Promise<WritePlan> {
    const appended = this.planAppendOnly(batch);
    if (appended !== undefined) return appended;
    const conflicts: RefusedPoint[] = [];
    let duplicates = 0;
    // 1. By series (one key string per point: this runs for every point ingest writes), in ts
    //    order; sort is stable, so of equal ts the batch's first copy comes first and stands.
    const bySeries = new Map<string, IndexedPoint[]>();
    for (const ip of batch) {
      const k = seriesKeyOfPoint(ip.point);
      const list = bySeries.get(k);
      if (list) list.push(ip);
      else bySeries.set(k, [ip]);
    }
    const seriesList: Array<{ k: string; points: IndexedPoint[]; current: RollupRow | undefined }> = [];
    const maybeStored: Point[] = [];
    for (const [k, list] of bySeries) {
      let unique = list;
      // A series' one point in the batch (the usual case: a reading per device per batch) needs no sort and no dedupe.
      if (list.length > 1) {
        if (!inTsOrder(list)) list.sort((a, b) => a.point.ts - b.point.ts);
        unique = [];
        for (const ip of list) {
          const first = unique[unique.length - 1];
          if (first === undefined || first.point.ts !== ip.point.ts) unique.push(ip);
          else if (samePoint(first.point, ip.point)) duplicates++;
          else conflicts.push({ index: ip.index, reason: conflictReason(ip.point) });
        }
      }
      const rolled = ROLLED.has(unique[0]!.point.measurement);
      const current = rolled ? this.latest.get(k) : undefined;
      // 2. Against the store: only points not later than their series' latest reading can exist.
      if (!rolled || (current !== undefined && unique[0]!.point.ts <= current.lastTs)) {
        for (const { point } of unique) if (!rolled || point.ts <= current!.lastTs) maybeStored.push(point);
      }
      seriesList.push({ k, points: unique, current });
    }
    const stored = new Map<string, Point>();
    if (maybeStored.length > 0) for (const p of await this.storage.existing(maybeStored)) stored.set(identity(p), p);
    // 3. Rollups, series by series.
    const rows: WritePlan['rows'] = [];
    const nextKeys: string[] = [];
    const nextRows: RollupRow[] = [];
    const keptOf: IndexedPoint[][] = [];
    for (const { k, points, current } of seriesList) {
      let kept = points;
      if (stored.size > 0) {
        kept = [];
        for (const ip of points) {
          const old = stored.get(identity(ip.point));
          if (old === undefined) kept.push(ip);
          else if (samePoint(old, ip.point)) duplicates++;
          else conflicts.push({ index: ip.index, reason: conflictReason(ip.point) });
        }
      }
      keptOf.push(kept);
      const m = points[0]!.point.measurement;
      if (kept.length === 0 || !ROLLED.has(m)) continue;
      let latest: RollupRow | undefined;
      if (current === undefined || kept[0]!.point.ts > current.lastTs)
        latest = this.appendInOrder(m as RolledMeasurement, current, kept, rows);
      else {
        const series = await this.recompute(
          m as RolledMeasurement,
          current.key,
          current,
          kept.map((ip) => ip.point),
        );
        for (const row of series.rows) rows.push({ measurement: m as RolledMeasurement, row });
        latest = series.latest;
      }
      if (latest) {
        nextKeys.push(k);
        nextRows.push(latest);
      }
    }
    // Every point of the batch is new (the common case): its own order, with no sort (gathering
    // them back series by series, then sorting, costs n log n comparisons per write).
    let points: Point[];
    if (duplicates === 0 && conflicts.length === 0 && inIndexOrder(batch)) points = batch.map((ip) => ip.point);
    else {
      const fresh = keptOf.flat();
      if (!inIndexOrder(fresh)) fresh.sort((a, b) => a.index - b.index);
      points = fresh.map((ip) => ip.point);
    }
    return {
      points,
      rows,
      conflicts: conflicts.sort((a, b) => a.index - b.index),
      duplicates,
      commit: () => {
        for (let i = 0; i < nextKeys.length; i++) this.latest.set(nextKeys[i]!, nextRows[i]!);
      },
    };
  }

  /**
   * The common write (ingest's, a live fleet's): every point is of a rolled measurement and later
   * than everything of its series, stored or earlier in the batch — so none can be a duplicate and
   * none needs a read. Each point is folded onto its series' row in batch order, as appendInOrder
   * does series by series, without grouping the batch by series first (a list, an entry and a key
   * lookup per series per write). Undefined, with nothing changed, at the first point that is not
   * so: plan() then takes the general path for the whole batch.
   */
  private planAppendOnly(batch: readonly IndexedPoint[]): WritePlan | undefined {
    const touched = new Map<string, RollupRow>();
    const rows: WritePlan['rows'] = [];
    const points: Point[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const ip = batch[i]!;
      // The general path returns the points in index order: so must this one.
      if (i > 0 && ip.index <= batch[i - 1]!.index) return undefined;
      const p = ip.point;
      if (!ROLLED.has(p.measurement)) return undefined;
      const m = p.measurement as RolledMeasurement;
      const k = seriesKeyOfPoint(p);
      const own = touched.get(k);
      const last = own ?? this.latest.get(k);
      if (last !== undefined && p.ts <= last.lastTs) return undefined;
      touched.set(k, foldLater(m, last, own !== undefined, p, rows));
      points[i] = p;
    }
    return {
      points,
      rows,
      conflicts: [],
      duplicates: 0,
      commit: () => {
        for (const [k, row] of touched) this.latest.set(k, row);
      },
    };
  }

  /**
   * Readings all later than the series' latest: fold them onto (a copy of) its latest row, or open
   * new hours; the rows go onto `out`, the series' new latest row is returned.
   */
  private appendInOrder(
    m: RolledMeasurement,
    current: RollupRow | undefined,
    points: readonly IndexedPoint[],
    out: WritePlan['rows'],
  ): RollupRow {
    let row = current;
    let own = false;
    for (const { point: p } of points) {
      row = foldLater(m, row, own, p, out);
      own = true;
    }
    return row!;
  }

  /**
   * Late readings: recompute each hour they fall in from the store's raw points plus the batch's,
   * on the chain of the nearest earlier row; then the next hour of the series, whose first delta
   * starts from the recomputed chain, and so on while a chain keeps changing.
   */
  private async recompute(
    m: RolledMeasurement,
    key: readonly string[],
    current: RollupRow | undefined,
    points: readonly Point[],
    extraHours: Iterable<number> = [],
  ): Promise<{ rows: RollupRow[]; latest: RollupRow | undefined }> {
    const working = new Map<number, RollupRow>();
    const batchByHour = new Map<number, Point[]>();
    for (const p of points) {
      const h = hourOf(p.ts);
      const list = batchByHour.get(h) ?? [];
      batchByHour.set(h, list);
      list.push(p);
    }
    const queue = new Set<number>([...batchByHour.keys(), ...extraHours]);
    while (queue.size > 0) {
      const h = Math.min(...queue);
      queue.delete(h);
      const prev = await this.nearest(m, key, h, working, 'before');
      const fromStore = await this.storage.seriesPoints(m, key, h, h + HOUR_MS);
      const readings = [...fromStore, ...(batchByHour.get(h) ?? [])].sort((a, b) => a.ts - b.ts);
      // An hour with no reading (only in a repair) has no row; the chain passes through it unchanged.
      const chainAfter = readings.length > 0 ? reduceHour(m, prev?.chain, readings) : undefined;
      if (chainAfter) working.set(h, chainAfter);
      const endChain = chainAfter?.chain ?? prev?.chain ?? ROLLED_COUNTERS[m].map(() => null);
      const next = await this.nearest(m, key, h, working, 'after');
      if (next === undefined || queue.has(next.hourStart)) continue;
      // The next hour's figures change only if the chain it starts from did.
      if (!sameChain(next.startChain, endChain)) queue.add(next.hourStart);
    }
    const rows = [...working.values()].sort((a, b) => a.hourStart - b.hourStart);
    const last = rows[rows.length - 1];
    return { rows, latest: last !== undefined && (current === undefined || last.hourStart >= current.hourStart) ? last : current };
  }

  /** The nearest row before/after `hour`: this plan's recomputed rows take precedence over stored ones. */
  private async nearest(
    m: RolledMeasurement,
    key: readonly string[],
    hour: number,
    working: ReadonlyMap<number, RollupRow>,
    side: 'before' | 'after',
  ): Promise<RollupRow | undefined> {
    const stored = side === 'before' ? await this.storage.rowBefore(m, key, hour) : await this.storage.rowAfter(m, key, hour);
    let best = stored;
    for (const [h, row] of working) {
      const candidate = side === 'before' ? h < hour : h > hour;
      if (!candidate) continue;
      if (best === undefined || (side === 'before' ? h >= best.hourStart : h <= best.hourStart)) best = row;
    }
    return best;
  }
}

function inTsOrder(list: readonly IndexedPoint[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.point.ts < list[i - 1]!.point.ts) return false;
  return true;
}

function inIndexOrder(list: readonly IndexedPoint[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.index < list[i - 1]!.index) return false;
  return true;
}

function sameChain(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function conflictReason(p: Point): string {
  return `conflicting duplicate: ${p.measurement} ${seriesId(p)} at ${p.ts} already holds another value`;
}

/**
 * Folds reading `p`, later than everything of its series, onto the series' last row: onto `last`
 * itself when it is the plan's own (`own`: made or copied by this plan), onto a copy pushed on `out`
 * when it is the committed one (a plan changes nothing until committed), or into a new hour's row.
 * Returns the row holding `p`, which is the plan's own.
 */
function foldLater(m: RolledMeasurement, last: RollupRow | undefined, own: boolean, p: Point, out: WritePlan['rows']): RollupRow {
  if (last !== undefined && last.hourStart === hourOf(p.ts)) {
    const row = own ? last : cloneRow(last);
    if (!own) out.push({ measurement: m, row });
    addReading(m, row, p);
    return row;
  }
  const row = reduceHour(m, last?.chain, [p]);
  out.push({ measurement: m, row });
  return row;
}
