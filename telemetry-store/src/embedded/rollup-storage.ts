import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { SERIES_KEY_TAGS } from '../measurements';
import type { RollupStorage } from '../rollups/maintainer';
import type { RolledMeasurement, RollupRow } from '../rollups/rows';
import type { Point } from '../types';
import { ROLLUP_TABLE, rowFrom } from './rollup-tables';
import { quote } from './sql';

/** Candidate points per lookup statement (a join with a VALUES list). */
const LOOKUP_CHUNK = 500;

/**
 * The maintainer's reads, on the writer's connection (inside the write's transaction, so it sees
 * what this write already did). Only late readings and possible duplicates come here; each such
 * read first calls `beforeRead` (the store saves the rollup rows it holds, so the rows read are
 * current) — rather than the store asking the maintainer beforehand, which cost a pass over every
 * point of every batch.
 */
export class DuckDBRollupStorage implements RollupStorage {
  constructor(
    private readonly conn: () => DuckDBConnection,
    private readonly beforeRead: () => Promise<void> = () => Promise.resolve(),
  ) {}

  async latestRows(m: RolledMeasurement): Promise<RollupRow[]> {
    const key = SERIES_KEY_TAGS[m].map(quote).join(', ');
    const reader = await this.conn().runAndReadAll(
      `SELECT * FROM ${ROLLUP_TABLE[m]} QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY hour_start DESC) = 1`,
    );
    return reader.getRowObjectsJS().map((o) => rowFrom(m, o));
  }

  async rowBefore(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    return await this.oneRow(m, key, `hour_start < $hour ORDER BY hour_start DESC`, hour);
  }

  async rowAfter(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    return await this.oneRow(m, key, `hour_start > $hour ORDER BY hour_start ASC`, hour);
  }

  private async oneRow(m: RolledMeasurement, key: readonly string[], tail: string, hour: number): Promise<RollupRow | undefined> {
    await this.beforeRead();
    const params: Record<string, DuckDBValue> = { hour };
    const where = SERIES_KEY_TAGS[m].map((t, i) => {
      params[`k${i}`] = key[i] ?? '';
      return `${quote(t)} = $k${i}`;
    });
    const reader = await this.conn().runAndReadAll(
      `SELECT * FROM ${ROLLUP_TABLE[m]} WHERE ${where.join(' AND ')} AND ${tail} LIMIT 1`,
      params,
    );
    const o = reader.getRowObjectsJS()[0];
    return o ? rowFrom(m, o) : undefined;
  }

  async seriesPoints(m: RolledMeasurement, key: readonly string[], from: number, to: number): Promise<Point[]> {
    await this.beforeRead();
    const params: Record<string, DuckDBValue> = { from, to };
    const where = SERIES_KEY_TAGS[m].map((t, i) => {
      params[`k${i}`] = key[i] ?? '';
      return `${quote(t)} = $k${i}`;
    });
    const reader = await this.conn().runAndReadAll(
      `SELECT * FROM ${quote(m)} WHERE ts >= $from AND ts < $to AND ${where.join(' AND ')}`,
      params,
    );
    return reader.getRowObjectsJS().map((o) => pointFromRow(m, o));
  }

  async existing(points: readonly Point[]): Promise<Point[]> {
    await this.beforeRead();
    const out: Point[] = [];
    const byMeasurement = new Map<Point['measurement'], Point[]>();
    for (const p of points) {
      const list = byMeasurement.get(p.measurement) ?? [];
      byMeasurement.set(p.measurement, list);
      list.push(p);
    }
    for (const [m, list] of byMeasurement) {
      const tags = SERIES_KEY_TAGS[m];
      for (let i = 0; i < list.length; i += LOOKUP_CHUNK) {
        const chunk = list.slice(i, i + LOOKUP_CHUNK);
        const values: DuckDBValue[] = [];
        const tuples = chunk.map((p) => {
          const slots = [...tags.map((t) => p.tags[t] ?? ''), p.ts].map((v) => {
            values.push(v);
            return `$${values.length}`;
          });
          return `(${slots.join(', ')})`;
        });
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (const p of chunk) {
          lo = Math.min(lo, p.ts);
          hi = Math.max(hi, p.ts);
        }
        values.push(lo, hi);
        const names = [...tags.map((_, j) => `k${j}`), 'kts'];
        const on = [...tags.map((t, j) => `t.${quote(t)} = v.k${j}`), 't.ts = v.kts'].join(' AND ');
        const sql =
          `SELECT t.* FROM ${quote(m)} t JOIN (VALUES ${tuples.join(', ')}) v(${names.join(', ')}) ON ${on} ` +
          `WHERE t.ts >= $${values.length - 1} AND t.ts <= $${values.length}`;
        const reader = await this.conn().runAndReadAll(sql, values);
        for (const o of reader.getRowObjectsJS()) out.push(pointFromRow(m, o));
      }
    }
    return out;
  }
}

/**
 * A table row as a point: the series key and a luminaire's group are tags, every other non-null
 * column a field (the row does not say which a column was; samePoint compares both as one record).
 */
export function pointFromRow(m: Point['measurement'], o: Record<string, unknown>): Point {
  const tags: Record<string, string> = {};
  const fields: Point['fields'] = {};
  const keyTags = new Set<string>(SERIES_KEY_TAGS[m]);
  for (const [name, value] of Object.entries(o)) {
    if (name === 'ts' || value === null || value === undefined) continue;
    if (keyTags.has(name) || (m === 'luminaire' && name === 'group')) tags[name] = String(value);
    else fields[name] = typeof value === 'bigint' ? Number(value) : (value as number | string | boolean);
  }
  return { measurement: m, tags, fields, ts: Number(o.ts) };
}
