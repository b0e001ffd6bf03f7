import type { BaselineSource, EnergyCellQuery, EnergyCells, CellSums, LuminaireEnergy } from '../types';
import { DAY_MS, luminaireDaySums, tierDayOf } from './day-sums';
import { DAY_MARK_MEASUREMENT } from './day-tier';
import { type InfluxPoint, readPending } from './pending-marks';
import { PackWriter } from './pack-writer';
import { type InfluxQLSeries, type RunInfluxQL, stringLiteral } from './reads';

/**
 * Savings cells for the InfluxDB backends: per municipality-day, the linear sums the dashboard's
 * savings figures are made of (luminaires, Wh, lit hours, Σ baseline W, Σ baseline W × lit hours)
 * per gateway and per group, packed in one point (parts under the 64 KB string limit).
 *
 * Why: InfluxDB 1.6 pays per series read. 100,000 luminaire series answered a 30-day sum in
 * 26–36 s, 1,000 gateway series with 7 aggregates in ~1 s, 8,000 (gateway, group) series in 18 s;
 * 300 municipality-day points of packed cells come back in a few tens of ms.
 *
 * Baselines come from the reader (the dashboard's inventory, `BaselineSource`), so packs are built
 * by the reader: a municipality-day without a current pack is summed from its luminaires' day sums
 * (hour rollups, GROUP BY time(1d)) and packed in the background. The pack's `bv` tag is the
 * baselines' version: when the inventory's baselines change, the packs of the old version are no
 * longer read and each day is summed again, and packed under the new version, by the next read.
 * Freshness is day-tier.ts's: a pack carries the day mark ingest wrote with that municipality-day's
 * hour rows, and is used only while the mark is unchanged and no rollup mark of that
 * municipality-day is pending.
 *
 * Distinct counts: a luminaire counts once in a range, under its latest group. Each day's cell
 * carries its set of luminaires as a fingerprint (a sum of 40-bit hashes of their ids); a range
 * uses a municipality's cells only if every cell's luminaires, Σ baseline W and fingerprint are the
 * same on every day it appears — then the distinct count over the range is that of any one day.
 * Otherwise (a luminaire appeared, fell silent for a whole day, or changed group within the range)
 * that municipality's luminaire rows are returned instead, for the dashboard's per-luminaire sums.
 * Only whole tier days are packed; a range with a partial day answers undefined (luminaire path).
 */
export const CELL_PACK_MEASUREMENT = 'energy_cell_pack';
/** Per day and baselines version, the municipalities whose packs make up the whole programme's day. */
export const CELL_DAYS_MEASUREMENT = 'energy_cell_days';
const MAX_PART_CHARS = 48_000;

/** [gateway or group, luminaires, Wh, lit hours, Σ baseline W, Σ baseline W × lit hours, fingerprint] */
type CellEntry = [string, number, number, number, number, number, number];
export interface DayCells {
  gateways: CellEntry[];
  groups: CellEntry[];
}

export interface CellTierStats {
  /** municipality-days read from packs */
  packDays: number;
  /** municipality-days summed from the hour rollups */
  summedDays: number;
  /** municipalities answered with luminaire rows (membership changed within the range, or not in the inventory) */
  rowMunicipalities: number;
  packsWritten: number;
}

export class InfluxCellTier {
  readonly stats: CellTierStats = { packDays: 0, summedDays: 0, rowMunicipalities: 0, packsWritten: 0 };
  private readonly packs: PackWriter;

  constructor(
    private readonly run: RunInfluxQL,
    send: (points: readonly InfluxPoint[]) => Promise<void>,
    /** per-luminaire energy of a municipality over a range (the store's own luminaireEnergy) */
    private readonly luminaireEnergy: (q: { from: number; to: number; municipality: string }) => Promise<LuminaireEnergy[]>,
  ) {
    this.packs = new PackWriter(send);
  }

  packsSettled(): Promise<void> {
    return this.packs.settled();
  }

  async energyCells(q: EnergyCellQuery, baselines: BaselineSource): Promise<EnergyCells | undefined> {
    if (tierDayOf(q.from) !== q.from || tierDayOf(q.to) !== q.to || q.from >= q.to) return undefined;
    // Packs an earlier read made may still be on their way: this read finds them written.
    await this.packs.settled();
    const days: number[] = [];
    for (let d = q.from; d < q.to; d += DAY_MS) days.push(d);
    const bv = stringLiteral(baselines.version);
    const scope = q.municipality === undefined ? '' : `"municipality" = ${stringLiteral(q.municipality)} AND `;
    const range = `time >= ${q.from}ms AND time < ${q.to}ms`;
    const [marks, packs, directory, pending] = await Promise.all([
      this.run(`SELECT "v" FROM "${DAY_MARK_MEASUREMENT}" WHERE ${scope}${range} GROUP BY "municipality"`),
      this.run(
        `SELECT "stamp", "parts", "cells" FROM "${CELL_PACK_MEASUREMENT}" WHERE ${scope}"bv" = ${bv} AND ${range} GROUP BY "municipality"`,
      ),
      q.municipality === undefined
        ? this.run(`SELECT "municipalities", "stamp" FROM "${CELL_DAYS_MEASUREMENT}" WHERE "bv" = ${bv} AND ${range}`)
        : Promise.resolve([]),
      readPending(this.run),
    ]);
    const markOf = new Map<string, number>();
    const markedDays = new Map<number, Set<string>>();
    for (const s of marks) {
      const m = s.tags?.municipality ?? '';
      for (const row of s.values) {
        markOf.set(dayId(m, Number(row[0])), Number(row[1]));
        const set = markedDays.get(Number(row[0])) ?? new Set<string>();
        markedDays.set(Number(row[0]), set);
        set.add(m);
      }
    }
    const inFlux = new Set<string>();
    for (const p of pending.pending) if (p.m === 'luminaire') inFlux.add(dayId(p.key[0] ?? '', tierDayOf(p.hour)));
    const packed = currentPacks(packs, markOf, inFlux);

    // Which municipalities each day has: the one asked for, or the day's directory while no
    // municipality outside it has written rows of that day since.
    const municipalitiesOf = new Map<number, string[] | undefined>();
    if (q.municipality !== undefined) for (const d of days) municipalitiesOf.set(d, [q.municipality]);
    else {
      const listed = directoryOf(directory);
      for (const d of days) {
        const list = listed.get(d);
        const marked = markedDays.get(d) ?? new Set<string>();
        municipalitiesOf.set(d, list && [...marked].every((m) => list.includes(m)) ? list : undefined);
      }
    }

    // Per day: its municipalities' packs; a municipality-day without a current one is summed from
    // its hour rows (the whole programme's day when the day's municipalities are not known).
    const cellsOf = new Map<string, DayCells>();
    const unassigned = new Set<string>();
    const toSum = new Map<string | undefined, number[]>();
    for (const d of days) {
      const list = municipalitiesOf.get(d);
      if (!list) {
        toSum.set(undefined, [...(toSum.get(undefined) ?? []), d]);
        continue;
      }
      for (const m of list) {
        const cells = packed.get(dayId(m, d));
        if (!baselines.assigns(m)) unassigned.add(m);
        else if (cells) cellsOf.set(dayId(m, d), cells);
        else toSum.set(m, [...(toSum.get(m) ?? []), d]);
      }
    }
    this.stats.packDays += cellsOf.size;
    for (const [scopeM, list] of toSum) {
      const sums = await luminaireDaySums(this.run, scopeM, list);
      for (const d of list) {
        const byMunicipality = new Map<string, LuminaireEnergy[]>();
        if (scopeM !== undefined) byMunicipality.set(scopeM, []);
        for (const r of sums.get(d) ?? []) {
          const rows = byMunicipality.get(r.municipality) ?? [];
          byMunicipality.set(r.municipality, rows);
          rows.push(r);
        }
        for (const [m, rows] of byMunicipality) {
          const cells = baselines.assigns(m) ? cellsFrom(m, rows, baselines) : undefined;
          this.stats.summedDays++;
          if (!cells) {
            unassigned.add(m);
            continue;
          }
          const id = dayId(m, d);
          cellsOf.set(id, cells);
          // Only a day whose rows were settled when its mark was read may be packed with that mark.
          if (!inFlux.has(id)) this.pack(m, d, baselines.version, markOf.get(id) ?? 0, cells);
        }
        if (scopeM === undefined) {
          const ms = [...byMunicipality.keys()].sort();
          if (ms.every((m) => !inFlux.has(dayId(m, d)))) this.directory(d, baselines.version, ms);
        }
      }
    }
    return this.combine(cellsOf, unassigned, q);
  }

  /** Range sums per municipality; a municipality whose cells changed membership is answered with luminaire rows. */
  private async combine(cellsOf: ReadonlyMap<string, DayCells>, unassigned: ReadonlySet<string>, q: EnergyCellQuery): Promise<EnergyCells> {
    const byMunicipality = new Map<string, Array<[number, DayCells]>>();
    for (const [id, cells] of cellsOf) {
      const [m, day] = splitDayId(id);
      const list = byMunicipality.get(m) ?? [];
      byMunicipality.set(m, list);
      list.push([day, cells]);
    }
    const out: EnergyCells = { byGateway: [], byGroup: [], rows: [] };
    const rowsFor = new Set(unassigned);
    for (const [m, list] of byMunicipality) {
      if (rowsFor.has(m)) continue;
      list.sort((a, b) => a[0] - b[0]);
      const gateways = rangeSums(list.map(([, c]) => c.gateways));
      const groups = rangeSums(list.map(([, c]) => c.groups));
      if (!gateways || !groups) {
        rowsFor.add(m);
        continue;
      }
      for (const [gateway, s] of gateways) out.byGateway.push({ municipality: m, gateway, ...s });
      for (const [group, s] of groups) out.byGroup.push({ municipality: m, group, ...s });
    }
    this.stats.rowMunicipalities += rowsFor.size;
    for (const m of [...rowsFor].sort()) out.rows.push(...(await this.luminaireEnergy({ from: q.from, to: q.to, municipality: m })));
    return out;
  }

  private pack(municipality: string, day: number, version: string, stamp: number, cells: DayCells): void {
    this.packs.enqueue(`${municipality}\u0000${day}`, cellPackPoints(municipality, day, version, stamp, cells), () => {
      this.stats.packsWritten++;
    });
  }

  /** The programme's municipalities of a day (read only with their packs, which are checked one by one). */
  private directory(day: number, version: string, municipalities: readonly string[]): void {
    const point = cellDirectoryPoint(day, version, municipalities);
    if (point) this.packs.enqueue(`\u0000${day}`, [point]);
  }
}

/** A municipality-day's pack: its cells in parts under the string limit, a millisecond apart. */
export function cellPackPoints(municipality: string, day: number, version: string, stamp: number, cells: DayCells): InfluxPoint[] {
  const parts = splitCells(cells);
  return parts.map((text, i) => ({
    measurement: CELL_PACK_MEASUREMENT,
    tags: { municipality, bv: version },
    fields: { stamp, parts: parts.length, cells: text },
    ts: day + i,
  }));
}

/** A day's list of the programme's municipalities (undefined if it would not fit one string field). */
export function cellDirectoryPoint(day: number, version: string, municipalities: readonly string[]): InfluxPoint | undefined {
  const text = JSON.stringify(municipalities);
  if (text.length > MAX_PART_CHARS) return undefined;
  return { measurement: CELL_DAYS_MEASUREMENT, tags: { bv: version }, fields: { municipalities: text, stamp: 0 }, ts: day };
}

/** One municipality-day's cells from its luminaires' day sums; undefined when the inventory assigns none of them a baseline. */
export function cellsFrom(municipality: string, rows: readonly LuminaireEnergy[], baselines: BaselineSource): DayCells | undefined {
  const gateways = new Map<string, CellEntry>();
  const groups = new Map<string, CellEntry>();
  const sorted = [...rows].sort((a, b) => cmp(a.gateway, b.gateway) || cmp(a.luminaire, b.luminaire));
  for (const r of sorted) {
    const w = baselines.wattsOf(municipality, r.luminaire);
    if (w === undefined) return undefined;
    addTo(gateways, r.gateway, r, w, fingerprint(r.luminaire));
    addTo(groups, r.group, r, w, fingerprint(`${r.gateway}\u0000${r.luminaire}`));
  }
  return { gateways: [...gateways.values()], groups: [...groups.values()] };
}

function addTo(cells: Map<string, CellEntry>, id: string, r: LuminaireEnergy, w: number, fp: number): void {
  const c = cells.get(id) ?? [id, 0, 0, 0, 0, 0, 0];
  cells.set(id, c);
  c[1] += 1;
  c[2] += r.energyWh;
  c[3] += r.litHours;
  c[4] += w;
  c[5] += w * r.litHours;
  c[6] += fp;
}

/** Cells over days: Wh, lit hours and W × h added; luminaires and Σ W those of every day, or undefined if they differ. */
function rangeSums(days: ReadonlyArray<readonly CellEntry[]>): Map<string, CellSums> | undefined {
  const out = new Map<string, CellSums & { fp: number }>();
  for (const cells of days) {
    for (const [id, luminaires, energyWh, litHours, baselineW, baselineWh, fp] of cells) {
      const s = out.get(id);
      if (!s) {
        out.set(id, { luminaires, energyWh, litHours, baselineW, baselineWh, fp });
        continue;
      }
      if (s.luminaires !== luminaires || s.baselineW !== baselineW || s.fp !== fp) return undefined;
      s.energyWh += energyWh;
      s.litHours += litHours;
      s.baselineWh += baselineWh;
    }
  }
  return new Map([...out].map(([id, { fp: _fp, ...s }]) => [id, s]));
}

/** A 40-bit hash of an id (two FNV-1a variants): sums of up to 8,192 of them stay exact in a double. */
export function fingerprint(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return (b & 0xff) * 2 ** 32 + a;
}

function currentPacks(
  series: readonly InfluxQLSeries[],
  markOf: ReadonlyMap<string, number>,
  inFlux: ReadonlySet<string>,
): Map<string, DayCells> {
  const parts = new Map<string, Array<{ part: number; stamp: number; parts: number; cells: string }>>();
  for (const s of series) {
    const m = s.tags?.municipality ?? '';
    const at = (c: string) => s.columns.indexOf(c);
    const [iT, iS, iP, iC] = [at('time'), at('stamp'), at('parts'), at('cells')];
    for (const row of s.values) {
      const t = Number(row[iT]);
      const cells = row[iC];
      if (typeof cells !== 'string') continue;
      const id = dayId(m, tierDayOf(t));
      const list = parts.get(id) ?? [];
      parts.set(id, list);
      list.push({ part: t - tierDayOf(t), stamp: Number(row[iS]), parts: Number(row[iP]), cells });
    }
  }
  const out = new Map<string, DayCells>();
  for (const [id, list] of parts) {
    const mark = markOf.get(id) ?? 0;
    const head = list.find((p) => p.part === 0);
    if (inFlux.has(id) || !head || head.stamp !== mark) continue;
    const mine = list.filter((p) => p.part < head.parts && p.stamp === mark).sort((a, b) => a.part - b.part);
    if (mine.length !== head.parts) continue;
    const day: DayCells = { gateways: [], groups: [] };
    for (const p of mine) {
      const c = JSON.parse(p.cells) as DayCells;
      day.gateways.push(...c.gateways);
      day.groups.push(...c.groups);
    }
    out.set(id, day);
  }
  return out;
}

function directoryOf(series: readonly InfluxQLSeries[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const s of series) {
    const iT = s.columns.indexOf('time');
    const iM = s.columns.indexOf('municipalities');
    for (const row of s.values) if (typeof row[iM] === 'string') out.set(Number(row[iT]), JSON.parse(row[iM] as string) as string[]);
  }
  return out;
}

function splitCells(cells: DayCells): string[] {
  const parts: string[] = [];
  let current: DayCells = { gateways: [], groups: [] };
  let chars = 0;
  const push = (kind: keyof DayCells, e: CellEntry) => {
    const n = JSON.stringify(e).length + 1;
    if (chars + n > MAX_PART_CHARS && chars > 0) {
      parts.push(JSON.stringify(current));
      current = { gateways: [], groups: [] };
      chars = 0;
    }
    current[kind].push(e);
    chars += n;
  };
  for (const e of cells.gateways) push('gateways', e);
  for (const e of cells.groups) push('groups', e);
  parts.push(JSON.stringify(current));
  return parts;
}

function dayId(municipality: string, day: number): string {
  return `${municipality}\u0000${day}`;
}

function splitDayId(id: string): [string, number] {
  const i = id.lastIndexOf('\u0000');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
