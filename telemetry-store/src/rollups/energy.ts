import type { EnergyQuery, HourQuery, LuminaireEnergy, Point } from '../types';
import { HOUR_MS, hourOf, keyId, type LuminaireRow, reduceHour, seriesId } from './rows';

/** What energyFromRollups reads from a store. */
export interface EnergySource {
  /** the store's luminaire rollup rows passing `q` */
  luminaireRows(q: HourQuery): Promise<LuminaireRow[]>;
  /**
   * Optional: the rows passing `q` already summed per luminaire (deltas and readings added, first
   * and last ts, the group of the latest), for stores that can sum where the rows are.
   */
  luminaireSums?(q: HourQuery): Promise<LuminaireRow[]>;
  /**
   * Optional, preferred over luminaireSums: the same sums already as energy rows (one per
   * luminaire, its group the latest), sorted by municipality, gateway, luminaire; for stores that
   * can sum and sort where the rows are. A range of whole hours is then answered without a
   * per-row step in JavaScript (100,000 luminaires: no map, no sort).
   */
  luminaireEnergySums?(q: HourQuery): Promise<LuminaireEnergy[]>;
  /** raw luminaire points with ts in [q.from, q.to) passing the filters, any order */
  luminairePoints(q: HourQuery): Promise<Point[]>;
}

interface Sum {
  row: LuminaireEnergy;
  groupTs: number;
}

/**
 * Per-luminaire energy over [from, to) from the hourly rollups: whole hours are summed as stored;
 * a range edge inside an hour is cut from that hour's raw readings, starting from the chain the row
 * kept from before the hour (so the cut is exact, and the figure of a split range adds up). Never
 * reads more raw points than the two edge hours hold.
 */
export async function energyFromRollups(src: EnergySource, q: EnergyQuery): Promise<LuminaireEnergy[]> {
  const filters = { municipality: q.municipality, gateway: q.gateway };
  const sums = new Map<string, Sum>();
  const add = (key: readonly string[], r: LuminaireRow) => {
    const id = keyId(key);
    const s = sums.get(id);
    if (!s) {
      const [municipality = '', gateway = '', luminaire = ''] = key;
      sums.set(id, {
        row: {
          municipality,
          gateway,
          luminaire,
          group: r.group,
          energyWh: r.deltas[0] ?? 0,
          litHours: r.deltas[1] ?? 0,
          points: r.readings,
          firstTs: r.firstTs,
          lastTs: r.lastTs,
        },
        groupTs: r.lastTs,
      });
      return;
    }
    s.row.energyWh += r.deltas[0] ?? 0;
    s.row.litHours += r.deltas[1] ?? 0;
    s.row.points += r.readings;
    s.row.firstTs = Math.min(s.row.firstTs, r.firstTs);
    if (r.lastTs > s.groupTs) {
      s.groupTs = r.lastTs;
      s.row.group = r.group;
    }
    s.row.lastTs = Math.max(s.row.lastTs, r.lastTs);
  };

  if (q.to <= q.from) return [];
  const wholeFrom = Math.ceil(q.from / HOUR_MS) * HOUR_MS;
  const wholeTo = hourOf(q.to);
  const edges: Array<[number, number]> = [];
  if (wholeFrom >= wholeTo) {
    // No whole hour inside: at most two partial hours.
    if (hourOf(q.from) === hourOf(q.to - 1)) edges.push([q.from, q.to]);
    else edges.push([q.from, wholeFrom], [wholeTo, q.to]);
  } else {
    if (q.from < wholeFrom) edges.push([q.from, wholeFrom]);
    if (wholeTo < q.to) edges.push([wholeTo, q.to]);
    const whole = { ...filters, from: wholeFrom, to: wholeTo };
    if (src.luminaireEnergySums) {
      const summed = await src.luminaireEnergySums(whole);
      if (edges.length === 0) return summed;
      for (const row of summed) sums.set(keyId([row.municipality, row.gateway, row.luminaire]), { row, groupTs: row.lastTs });
    } else {
      // Rows are summed in hour order, so the sums are the same whatever order rows were written in.
      const rows = src.luminaireSums ? await src.luminaireSums(whole) : await src.luminaireRows(whole);
      for (const r of rows.sort((a, b) => a.hourStart - b.hourStart)) add(r.key, r);
    }
  }
  for (const [a, b] of edges) for (const part of await partialHour(src, filters, a, b)) add(part.key, part);
  return [...sums.values()]
    .map((s) => s.row)
    .sort((x, y) => cmp(x.municipality, y.municipality) || cmp(x.gateway, y.gateway) || cmp(x.luminaire, y.luminaire));
}

/** The part of each luminaire's hour that lies in [a, b) (both in one hour), as rows of that part. */
async function partialHour(
  src: EnergySource,
  filters: { municipality?: string | undefined; gateway?: string | undefined },
  a: number,
  b: number,
): Promise<LuminaireRow[]> {
  const h = hourOf(a);
  const rows = await src.luminaireRows({ ...filters, from: h, to: h + 1 });
  const points = await src.luminairePoints({ ...filters, from: h, to: h + HOUR_MS });
  const bySeries = new Map<string, Point[]>();
  for (const p of points) {
    const id = seriesId(p);
    const list = bySeries.get(id) ?? [];
    bySeries.set(id, list);
    list.push(p);
  }
  const out: LuminaireRow[] = [];
  for (const row of rows) {
    const list = (bySeries.get(keyId(row.key)) ?? []).sort((x, y) => x.ts - y.ts);
    const before = list.filter((p) => p.ts < a);
    const inside = list.filter((p) => p.ts >= a && p.ts < b);
    if (inside.length === 0) continue;
    const chain = before.length > 0 ? reduceHour('luminaire', row.startChain, before).chain : row.startChain;
    out.push(reduceHour('luminaire', chain, inside));
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
