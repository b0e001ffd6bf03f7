import { SERIES_KEY_TAGS } from '../measurements';
import type { RollupStorage } from '../rollups/maintainer';
import type { RolledMeasurement, RollupRow } from '../rollups/rows';
import type { Point } from '../types';
import { type RunInfluxQL, stringLiteral } from './reads';
import { pointFromRecord, recordsOf } from './records';
import { ROLLUP_MEASUREMENT, rowFromRecord } from './rollup-points';

/** Candidate points per existence query (an OR of their series, over their time span). */
const LOOKUP_CHUNK = 200;

export function groupBy(m: RolledMeasurement): string {
  return SERIES_KEY_TAGS[m].map((t) => `"${t}"`).join(', ');
}

/** The maintainer's reads through InfluxQL (late readings and possible duplicates only). */
export class InfluxQLRollupStorage implements RollupStorage {
  constructor(private readonly run: RunInfluxQL) {}

  async latestRows(m: RolledMeasurement): Promise<RollupRow[]> {
    const series = await this.run(`SELECT * FROM "${ROLLUP_MEASUREMENT[m]}" GROUP BY ${groupBy(m)} ORDER BY time DESC LIMIT 1`);
    return recordsOf(series).map((o) => rowFromRecord(m, o));
  }

  rowBefore(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    return this.oneRow(m, key, `time < ${hour}ms`, 'DESC');
  }

  rowAfter(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    return this.oneRow(m, key, `time > ${hour}ms`, 'ASC');
  }

  private async oneRow(m: RolledMeasurement, key: readonly string[], time: string, order: 'ASC' | 'DESC'): Promise<RollupRow | undefined> {
    const series = await this.run(
      `SELECT * FROM "${ROLLUP_MEASUREMENT[m]}" WHERE ${keyWhere(m, key)} AND ${time} GROUP BY ${groupBy(m)} ORDER BY time ${order} LIMIT 1`,
    );
    const o = recordsOf(series)[0];
    return o ? rowFromRecord(m, o) : undefined;
  }

  async seriesPoints(m: RolledMeasurement, key: readonly string[], from: number, to: number): Promise<Point[]> {
    const series = await this.run(`SELECT * FROM "${m}" WHERE ${keyWhere(m, key)} AND time >= ${from}ms AND time < ${to}ms`);
    return recordsOf(series).map((o) => pointFromRecord(m, o));
  }

  async existing(points: readonly Point[]): Promise<Point[]> {
    const out: Point[] = [];
    const byMeasurement = new Map<Point['measurement'], Point[]>();
    for (const p of points) byMeasurement.set(p.measurement, [...(byMeasurement.get(p.measurement) ?? []), p]);
    for (const [m, list] of byMeasurement) {
      for (let i = 0; i < list.length; i += LOOKUP_CHUNK) {
        const chunk = list.slice(i, i + LOOKUP_CHUNK);
        const wanted = new Set(chunk.map((p) => identityOf(m, p)));
        const keys = [
          ...new Set(
            chunk.map((p) =>
              keyWhere(
                m,
                SERIES_KEY_TAGS[m].map((t) => p.tags[t] ?? ''),
              ),
            ),
          ),
        ];
        const lo = Math.min(...chunk.map((p) => p.ts));
        const hi = Math.max(...chunk.map((p) => p.ts));
        const series = await this.run(
          `SELECT * FROM "${m}" WHERE (${keys.map((k) => `(${k})`).join(' OR ')}) AND time >= ${lo}ms AND time <= ${hi}ms`,
        );
        for (const o of recordsOf(series)) {
          const p = pointFromRecord(m, o);
          if (wanted.has(identityOf(m, p))) out.push(p);
        }
      }
    }
    return out;
  }
}

function keyWhere(m: Point['measurement'], key: readonly string[]): string {
  return SERIES_KEY_TAGS[m].map((t, i) => `"${t}" = ${stringLiteral(key[i] ?? '')}`).join(' AND ');
}

function identityOf(m: Point['measurement'], p: Point): string {
  return JSON.stringify([...SERIES_KEY_TAGS[m].map((t) => p.tags[t]), p.ts]);
}
