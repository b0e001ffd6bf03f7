import { z } from 'zod';
import { CounterAccumulator } from '../counter-deltas';
import { UNGROUPED } from '../measurements';
import type { EnergyQuery, LuminaireEnergy, Point } from '../types';

/** One series of an InfluxQL JSON response (`/query?epoch=ms`). */
export const InfluxQLSeriesSchema = z.object({
  name: z.string(),
  tags: z.record(z.string(), z.string()).optional(),
  columns: z.array(z.string()),
  // Rows are checked to be arrays, not copied cell by cell: zod's array-of-arrays parse rebuilt every
  // row (7 ms for a municipality-day's 7,200 hour rows under load); readers check each cell's type.
  values: z
    .custom<unknown[][]>((v) => Array.isArray(v) && v.every((row) => Array.isArray(row)), 'values must be an array of row arrays')
    .default([]),
});
export type InfluxQLSeries = z.infer<typeof InfluxQLSeriesSchema>;

export const InfluxQLResponseSchema = z.object({
  results: z.array(z.object({ series: z.array(InfluxQLSeriesSchema).optional(), error: z.string().optional() })).default([]),
  error: z.string().optional(),
});

/** Runs one InfluxQL statement with epoch=ms and returns its series (throws on a query error). */
export type RunInfluxQL = (query: string) => Promise<InfluxQLSeries[]>;

/** Series of a parsed response; a server-reported error becomes an exception. */
export function seriesOf(body: unknown): InfluxQLSeries[] {
  const parsed = InfluxQLResponseSchema.parse(body);
  if (parsed.error) throw new Error(`InfluxQL: ${parsed.error}`);
  const first = parsed.results[0];
  if (first?.error) throw new Error(`InfluxQL: ${first.error}`);
  return first?.series ?? [];
}

/** InfluxQL string literal. */
export function stringLiteral(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function timeRange(from: number, to: number): string {
  return `time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to)}ms`;
}

/** Rows per series per page when reading counters (InfluxQL LIMIT/OFFSET apply per series). */
export const ENERGY_PAGE_SIZE = 10_000;

interface SeriesState {
  municipality: string;
  gateway: string;
  luminaire: string;
  group: string;
  energy: CounterAccumulator;
  hours: CounterAccumulator;
  points: number;
  firstTs: number;
  lastTs: number;
}

/**
 * Energy per luminaire via InfluxQL: InfluxQL has no reset-aware difference, so the counters are
 * read in time order, page by page, and reduced with the shared counter-deltas semantics.
 */
export async function influxqlLuminaireEnergy(run: RunInfluxQL, q: EnergyQuery, pageSize = ENERGY_PAGE_SIZE): Promise<LuminaireEnergy[]> {
  const where = [timeRange(q.from, q.to)];
  if (q.municipality !== undefined) where.push(`"municipality" = ${stringLiteral(q.municipality)}`);
  if (q.gateway !== undefined) where.push(`"gateway" = ${stringLiteral(q.gateway)}`);
  const states = new Map<string, SeriesState>();
  for (let page = 0; ; page++) {
    const series = await run(
      `SELECT "activeEnergy", "operatingHours", "group" FROM "luminaire" WHERE ${where.join(' AND ')} ` +
        `GROUP BY "municipality", "gateway", "luminaire" ORDER BY time ASC LIMIT ${pageSize} OFFSET ${page * pageSize}`,
    );
    let full = false;
    for (const s of series) {
      const tags = s.tags ?? {};
      const key = JSON.stringify([tags.municipality, tags.gateway, tags.luminaire]);
      let st = states.get(key);
      if (!st) {
        st = {
          municipality: tags.municipality ?? '',
          gateway: tags.gateway ?? '',
          luminaire: tags.luminaire ?? '',
          group: UNGROUPED,
          energy: new CounterAccumulator(),
          hours: new CounterAccumulator(),
          points: 0,
          firstTs: Number.POSITIVE_INFINITY,
          lastTs: Number.NEGATIVE_INFINITY,
        };
        states.set(key, st);
      }
      const col = (name: string) => s.columns.indexOf(name);
      const [iTime, iE, iH, iG] = [col('time'), col('activeEnergy'), col('operatingHours'), col('group')];
      for (const row of s.values) {
        const ts = Number(row[iTime]);
        // A point whose group tag changed shows up twice at one ts (two series merged): count it once.
        if (ts !== st.lastTs) st.points++;
        st.energy.add(ts, numberOrNull(row[iE]));
        st.hours.add(ts, numberOrNull(row[iH]));
        const g = row[iG];
        if (typeof g === 'string' && g !== '') st.group = g;
        st.firstTs = Math.min(st.firstTs, ts);
        st.lastTs = Math.max(st.lastTs, ts);
      }
      if (s.values.length >= pageSize) full = true;
    }
    if (!full) break;
  }
  return [...states.values()]
    .map((st) => ({
      municipality: st.municipality,
      gateway: st.gateway,
      luminaire: st.luminaire,
      group: st.group,
      energyWh: st.energy.total,
      litHours: st.hours.total,
      points: st.points,
      firstTs: st.firstTs,
      lastTs: st.lastTs,
    }))
    .sort((a, b) => cmp(a.municipality, b.municipality) || cmp(a.gateway, b.gateway) || cmp(a.luminaire, b.luminaire));
}

/**
 * Points of a measurement in [from, to). InfluxQL counts per field, so the answer is the largest
 * per-field count (every writer of ours puts the same fields in every point of a measurement).
 */
export async function influxqlCountPoints(run: RunInfluxQL, measurement: Point['measurement'], from: number, to: number): Promise<number> {
  const series = await run(`SELECT count(*) FROM "${measurement}" WHERE ${timeRange(from, to)}`);
  let max = 0;
  for (const s of series) {
    for (const row of s.values) {
      s.columns.forEach((c, i) => {
        if (c !== 'time') max = Math.max(max, Number(row[i] ?? 0));
      });
    }
  }
  return max;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
