import type { RollupStorage } from '../rollups/maintainer';
import { keyId, type RolledMeasurement, type RollupRow } from '../rollups/rows';
import type { Point } from '../types';
import type { Dataset } from './store';

/** The maintainer's view of a memory dataset (rows by linear scans: the memory store is for tests and demos). */
export class MemoryRollupStorage implements RollupStorage {
  constructor(private readonly data: Omit<Dataset, 'maintainer'>) {}

  async latestRows(m: RolledMeasurement): Promise<RollupRow[]> {
    const out: RollupRow[] = [];
    for (const [k, series] of this.data.rows) {
      if (!k.startsWith(`${m}|`) || series.size === 0) continue;
      out.push(series.get(Math.max(...series.keys()))!);
    }
    return out;
  }

  async rowBefore(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    let best: RollupRow | undefined;
    for (const [h, row] of this.series(m, key)) if (h < hour && (best === undefined || h > best.hourStart)) best = row;
    return best;
  }

  async rowAfter(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    let best: RollupRow | undefined;
    for (const [h, row] of this.series(m, key)) if (h > hour && (best === undefined || h < best.hourStart)) best = row;
    return best;
  }

  async seriesPoints(m: RolledMeasurement, key: readonly string[], from: number, to: number): Promise<Point[]> {
    return this.data.points.seriesRange(m, key, from, to);
  }

  async existing(points: readonly Point[]): Promise<Point[]> {
    const out: Point[] = [];
    for (const p of points) {
      const stored = this.data.points.get(p);
      if (stored) out.push(stored);
    }
    return out;
  }

  private series(m: RolledMeasurement, key: readonly string[]): Map<number, RollupRow> {
    return this.data.rows.get(`${m}|${keyId(key)}`) ?? new Map();
  }
}
