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
      const row = this.latest.get(`${point.measurement}|${seriesId(point)}`);
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
    const conflicts: RefusedPoint[] = [];
    let duplicates = 0;
    // 1. Within the batch: the first copy of an identity stands.
    const firstOf = new Map<string, Point>();
    const candidates: Array<IndexedPoint & { sid: string; id: string }> = [];
    for (const ip of batch) {
      const sid = seriesId(ip.point);
      const id = identity(ip.point, sid);
      const seen = firstOf.get(id);
      if (seen) {
        if (samePoint(seen, ip.point)) duplicates++;
        else conflicts.push({ index: ip.index, reason: conflictReason(ip.point) });
        continue;
      }
      firstOf.set(id, ip.point);
      candidates.push({ ...ip, sid, id });
    }
    // 2. Against the store: only points not later than their series' latest reading can exist.
    const maybeStored = candidates.filter((c) => {
      if (!ROLLED.has(c.point.measurement)) return true;
      const row = this.latest.get(`${c.point.measurement}|${c.sid}`);
      return row !== undefined && c.point.ts <= row.lastTs;
    });
    const stored = new Map<string, Point>();
    if (maybeStored.length > 0) {
      for (const p of await this.storage.existing(maybeStored.map((c) => c.point))) stored.set(identity(p), p);
    }
    const fresh: typeof candidates = [];
    for (const c of candidates) {
      const old = stored.get(c.id);
      if (old === undefined) fresh.push(c);
      else if (samePoint(old, c.point)) duplicates++;
      else conflicts.push({ index: c.index, reason: conflictReason(c.point) });
    }
    // 3. Rollups, series by series.
    const bySeries = new Map<string, { m: RolledMeasurement; points: Point[] }>();
    for (const c of fresh) {
      if (!ROLLED.has(c.point.measurement)) continue;
      const m = c.point.measurement as RolledMeasurement;
      const k = `${m}|${c.sid}`;
      const s = bySeries.get(k) ?? { m, points: [] };
      bySeries.set(k, s);
      s.points.push(c.point);
    }
    const rows: WritePlan['rows'] = [];
    const nextLatest = new Map<string, RollupRow>();
    for (const [k, { m, points }] of bySeries) {
      points.sort((a, b) => a.ts - b.ts);
      const current = this.latest.get(k);
      const series =
        current === undefined || points[0]!.ts > current.lastTs
          ? this.appendInOrder(m, current, points)
          : await this.recompute(m, current.key, current, points);
      for (const row of series.rows) rows.push({ measurement: m, row });
      if (series.latest) nextLatest.set(k, series.latest);
    }
    return {
      points: fresh.map((c) => c.point),
      rows,
      conflicts: conflicts.sort((a, b) => a.index - b.index),
      duplicates,
      commit: () => {
        for (const [k, row] of nextLatest) this.latest.set(k, row);
      },
    };
  }

  /** Readings all later than the series' latest: fold them onto its latest row, or open new hours. */
  private appendInOrder(
    m: RolledMeasurement,
    current: RollupRow | undefined,
    points: readonly Point[],
  ): { rows: RollupRow[]; latest: RollupRow } {
    const rows: RollupRow[] = [];
    let row = current;
    let copied = false;
    for (const p of points) {
      const h = hourOf(p.ts);
      if (row !== undefined && row.hourStart === h) {
        if (!copied) {
          row = cloneRow(row);
          rows.push(row);
          copied = true;
        }
        addReading(m, row, p);
      } else {
        row = reduceHour(m, row?.chain, [p]);
        rows.push(row);
        copied = true;
      }
    }
    return { rows, latest: row! };
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

function sameChain(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function conflictReason(p: Point): string {
  return `conflicting duplicate: ${p.measurement} ${seriesId(p)} at ${p.ts} already holds another value`;
}
