import type { BaselineSource, CellSums, LuminaireEnergy } from '../types';
import { DAY_MS, TIER_DAY_OFFSET_MS, tierDayOf } from './day-sums';
import type { InfluxPoint } from './pending-marks';
import type { InfluxQLSeries } from './reads';

// The savings cells' points and their reading (cell-tier.ts): packs of a municipality-day, blocks
// of days, the day's directory of municipalities; cells summed from luminaire rows and over days.
export const CELL_PACK_MEASUREMENT = 'energy_cell_pack';
/**
 * Blocks of 2, 4, 8, 16 or 32 days (aligned on their span counted from the tier's day 0), each the
 * range sums of its days' cells when those add up (same luminaires every day): 30 days are at most
 * 8 packs per municipality instead of 30. A block's stamp is its days' marks, listed.
 */
export const CELL_BLOCK_MEASUREMENT = 'energy_cell_block';
export const BLOCK_SPANS = [32, 16, 8, 4, 2] as const;
/** Per day and baselines version, the municipalities whose packs make up the whole programme's day. */
export const CELL_DAYS_MEASUREMENT = 'energy_cell_days';
export const MAX_PART_CHARS = 48_000;

/** [gateway or group, luminaires, Wh, lit hours, Σ baseline W, Σ baseline W × lit hours, fingerprint] */
export type CellEntry = [string, number, number, number, number, number, number];
export interface DayCells {
  gateways: CellEntry[];
  groups: CellEntry[];
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

/** Cells over days: Wh, lit hours and W × h added; luminaires, Σ W and fingerprint those of every day, or undefined if they differ. */
export function rangeSums(days: ReadonlyArray<readonly CellEntry[]>): Map<string, CellSums & { fp: number }> | undefined {
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
  return out;
}

export function entriesOf(sums: ReadonlyMap<string, CellSums & { fp: number }>): CellEntry[] {
  return [...sums].map(([id, s]) => [id, s.luminaires, s.energyWh, s.litHours, s.baselineW, s.baselineWh, s.fp]);
}

/** Consecutive days as [from, to) runs. */
export function runsOf(days: readonly number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const d of [...days].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d) last[1] = d + DAY_MS;
    else runs.push([d, d + DAY_MS]);
  }
  return runs;
}

/** The first start ≥ `t` of a block of `span` tier days (blocks aligned on the tier's day 0). */
export function alignUp(t: number, span: number): number {
  const index = Math.ceil((t - TIER_DAY_OFFSET_MS) / DAY_MS / span) * span;
  return index * DAY_MS + TIER_DAY_OFFSET_MS;
}

export function blockId(municipality: string, start: number, span: number): string {
  return `${municipality}\u0000${start}\u0000${span}`;
}

export function splitBlockId(id: string): [string, number, number] {
  const [span, start, ...m] = id.split('\u0000').reverse();
  return [m.reverse().join('\u0000'), Number(start), Number(span)];
}

/** Blocks whose parts are all there with the stamp their days' marks make now, ending by `to`. */
export function currentBlocks(
  series: readonly InfluxQLSeries[],
  stampOf: (m: string, start: number, span: number) => string | undefined,
  to: number,
): Map<string, DayCells> {
  const parts = new Map<string, Array<{ part: number; stamp: unknown; parts: number; cells: string }>>();
  for (const s of series) {
    const m = s.tags?.municipality ?? '';
    const span = Number(s.tags?.span);
    if (!BLOCK_SPANS.includes(span as (typeof BLOCK_SPANS)[number])) continue;
    const at = (c: string) => s.columns.indexOf(c);
    const [iT, iS, iP, iC] = [at('time'), at('stamp'), at('parts'), at('cells')];
    for (const row of s.values) {
      const t = Number(row[iT]);
      const cells = row[iC];
      if (typeof cells !== 'string') continue;
      const id = blockId(m, tierDayOf(t), span);
      const list = parts.get(id) ?? [];
      parts.set(id, list);
      list.push({ part: t - tierDayOf(t), stamp: row[iS], parts: Number(row[iP]), cells });
    }
  }
  const out = new Map<string, DayCells>();
  for (const [id, list] of parts) {
    const [m, start, span] = splitBlockId(id);
    if (start + span * DAY_MS > to) continue;
    const stamp = stampOf(m, start, span);
    const head = list.find((p) => p.part === 0);
    if (stamp === undefined || !head || head.stamp !== stamp) continue;
    const mine = list.filter((p) => p.part < head.parts && p.stamp === stamp).sort((a, b) => a.part - b.part);
    if (mine.length !== head.parts) continue;
    out.set(id, joinParts(mine.map((p) => p.cells)));
  }
  return out;
}

function joinParts(texts: readonly string[]): DayCells {
  const day: DayCells = { gateways: [], groups: [] };
  for (const text of texts) {
    const c = JSON.parse(text) as DayCells;
    day.gateways.push(...c.gateways);
    day.groups.push(...c.groups);
  }
  return day;
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

export function currentPacks(
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

export function directoryOf(series: readonly InfluxQLSeries[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const s of series) {
    const iT = s.columns.indexOf('time');
    const iM = s.columns.indexOf('municipalities');
    for (const row of s.values) if (typeof row[iM] === 'string') out.set(Number(row[iT]), JSON.parse(row[iM] as string) as string[]);
  }
  return out;
}

export function splitCells(cells: DayCells): string[] {
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

export function dayId(municipality: string, day: number): string {
  return `${municipality}\u0000${day}`;
}

export function splitDayId(id: string): [string, number] {
  const i = id.lastIndexOf('\u0000');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
