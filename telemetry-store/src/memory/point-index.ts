import { SERIES_KEY_TAGS } from '../measurements';
import type { Point } from '../types';

/**
 * The points of one series in ts order, the timestamps apart in a number array (unboxed doubles)
 * so that finding a ts is a binary search over plain numbers. Readings arrive mostly in time order:
 * a point later than the last one is appended; a late one is spliced in.
 */
export class SeriesPoints {
  readonly ts: number[] = [];
  readonly points: Point[] = [];

  /** Index of the first point with ts ≥ `ts` (the length when none). */
  lowerBound(ts: number): number {
    const a = this.ts;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(ts: number): Point | undefined {
    const n = this.ts.length;
    if (n === 0 || ts > this.ts[n - 1]!) return undefined;
    const i = this.lowerBound(ts);
    return this.ts[i] === ts ? this.points[i] : undefined;
  }

  /** Stores `p`, replacing the point of its ts if there is one; true when it was new. */
  put(p: Point): boolean {
    const n = this.ts.length;
    if (n === 0 || p.ts > this.ts[n - 1]!) {
      this.ts.push(p.ts);
      this.points.push(p);
      return true;
    }
    const i = this.lowerBound(p.ts);
    if (this.ts[i] === p.ts) {
      this.points[i] = p;
      return false;
    }
    this.ts.splice(i, 0, p.ts);
    this.points.splice(i, 0, p);
    return true;
  }

  /** Points with from ≤ ts < to, in ts order. */
  range(from: number, to: number): Point[] {
    return this.points.slice(this.lowerBound(from), this.lowerBound(to));
  }

  countRange(from: number, to: number): number {
    return Math.max(0, this.lowerBound(to) - this.lowerBound(from));
  }
}

/**
 * A series' identity as one string: measurement and series-key tag values joined by NUL. NUL cannot
 * be confused with a tag's own characters unless a tag holds one; such (never valid) ids fall back
 * to JSON, which cannot collide with a NUL-joined key (it starts with `[`, no measurement does).
 */
export function seriesKeyOf(measurement: Point['measurement'], values: readonly (string | undefined)[]): string {
  let key: string = measurement;
  for (const v of values) {
    if (v === undefined || v.includes('\u0000')) return JSON.stringify([measurement, ...values]);
    key += `\u0000${v}`;
  }
  return key;
}

/** Keys of frozen (shared, immutable) tags objects, by measurement: see rollups/rows.ts seriesKeyOfPoint. */
const SHARED_KEYS = new WeakMap<object, { measurement: string; key: string }>();

/** The series key of a point whose series-key tags are all strings. */
export function pointSeriesKey(p: Point): string {
  const tags = p.tags;
  if (!Object.isFrozen(tags)) return buildKey(p);
  const cached = SHARED_KEYS.get(tags);
  if (cached !== undefined && cached.measurement === p.measurement) return cached.key;
  const key = buildKey(p);
  if (cached === undefined) SHARED_KEYS.set(tags, { measurement: p.measurement, key });
  return key;
}

function buildKey(p: Point): string {
  const names = SERIES_KEY_TAGS[p.measurement];
  let key: string = p.measurement;
  for (let i = 0; i < names.length; i++) {
    const v = p.tags[names[i]!]!;
    if (v.includes('\u0000'))
      return seriesKeyOf(
        p.measurement,
        names.map((t) => p.tags[t]),
      );
    key += `\u0000${v}`;
  }
  return key;
}

/**
 * Every point of a memory store, by series then ts: one map entry per series rather than one per
 * point, so a write hashes a short-lived key once per point into a small map and appends two
 * array slots, and reads of one series or a time range do not scan the whole store.
 */
export class PointIndex {
  private readonly bySeries = new Map<string, SeriesPoints>();
  /** points held */
  size = 0;

  /** The stored point with the identity (measurement, series key, ts) of `p`, if any. */
  get(p: Point): Point | undefined {
    return this.bySeries.get(pointSeriesKey(p))?.get(p.ts);
  }

  /** Stores `p` (replacing the point of the same identity). */
  put(p: Point): void {
    const k = pointSeriesKey(p);
    let series = this.bySeries.get(k);
    if (series === undefined) {
      series = new SeriesPoints();
      this.bySeries.set(k, series);
    }
    if (series.put(p)) this.size++;
  }

  /** The points of one series with from ≤ ts < to, in ts order. */
  seriesRange(measurement: Point['measurement'], key: readonly string[], from: number, to: number): Point[] {
    return this.bySeries.get(seriesKeyOf(measurement, key))?.range(from, to) ?? [];
  }

  /** Points of `measurement` with from ≤ ts < to whose first point passes `series` (a series filter by tags). */
  select(measurement: Point['measurement'], from: number, to: number, series: (first: Point) => boolean = () => true): Point[] {
    const out: Point[] = [];
    for (const s of this.bySeries.values()) {
      const first = s.points[0];
      if (first === undefined || first.measurement !== measurement || !series(first)) continue;
      for (const p of s.range(from, to)) out.push(p);
    }
    return out;
  }

  count(measurement: Point['measurement'], from: number, to: number): number {
    let n = 0;
    for (const s of this.bySeries.values()) if (s.points[0]?.measurement === measurement) n += s.countRange(from, to);
    return n;
  }

  clear(): void {
    this.bySeries.clear();
    this.size = 0;
  }
}
