import type { BaselineSource, EnergyCellQuery, EnergyCells, LuminaireEnergy } from '../types';
import {
  alignUp,
  BLOCK_SPANS,
  blockId,
  CELL_BLOCK_MEASUREMENT,
  CELL_DAYS_MEASUREMENT,
  CELL_PACK_MEASUREMENT,
  cellDirectoryPoint,
  cellPackPoints,
  cellsFrom,
  currentBlocks,
  currentPacks,
  type DayCells,
  dayId,
  directoryOf,
  entriesOf,
  rangeSums,
  runsOf,
  splitBlockId,
  splitCells,
  splitDayId,
} from './cell-packs';
import { DAY_MS, luminaireDaySums, tierDayOf } from './day-sums';
import { DAY_MARK_MEASUREMENT } from './day-tier';
import { type InfluxPoint, readPending } from './pending-marks';
import { PackWriter } from './pack-writer';
import { type RunInfluxQL, stringLiteral } from './reads';

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
 *
 * Blocks: a read that summed a municipality's cells over every day of an aligned block of 2–32
 * days packs that block too (cell-packs.ts), stamped with its days' marks; later reads take the
 * largest current blocks and the remaining days' packs (30 days: ≤ 8 packs per municipality).
 */
export interface CellTierStats {
  /** municipality-days read from packs */
  packDays: number;
  /** municipality-days summed from the hour rollups */
  summedDays: number;
  /** municipalities answered with luminaire rows (membership changed within the range, or not in the inventory) */
  rowMunicipalities: number;
  packsWritten: number;
  /** blocks of days read from packs, and written */
  blocksRead: number;
  blocksWritten: number;
}

export class InfluxCellTier {
  readonly stats: CellTierStats = { packDays: 0, summedDays: 0, rowMunicipalities: 0, packsWritten: 0, blocksRead: 0, blocksWritten: 0 };
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
    // First the marks, the blocks and the day lists; then the day packs of the days no block covers.
    const [marks, blockPacks, directory, pending] = await Promise.all([
      this.run(`SELECT "v" FROM "${DAY_MARK_MEASUREMENT}" WHERE ${scope}${range} GROUP BY "municipality"`),
      q.useBlocks === false
        ? Promise.resolve([])
        : this.run(
            `SELECT "stamp", "parts", "cells" FROM "${CELL_BLOCK_MEASUREMENT}" WHERE ${scope}"bv" = ${bv} AND ${range} GROUP BY "municipality", "span"`,
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
    const stampOf = (m: string, start: number, span: number): string | undefined => {
      const marks: number[] = [];
      for (let d = start; d < start + span * DAY_MS; d += DAY_MS) {
        if (inFlux.has(dayId(m, d))) return undefined;
        marks.push(markOf.get(dayId(m, d)) ?? 0);
      }
      return marks.join(',');
    };
    const blocks = currentBlocks(blockPacks, stampOf, q.to);
    // Each municipality's days covered by a current block are not read day by day.
    const covered = new Set<string>();
    for (const id of blocks.keys()) {
      const [m, start, span] = splitBlockId(id);
      for (let d = start; d < start + span * DAY_MS; d += DAY_MS) covered.add(dayId(m, d));
    }

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
    const needed = days.filter((d) => municipalitiesOf.get(d)?.some((m) => baselines.assigns(m) && !covered.has(dayId(m, d))) ?? true);
    const packs = (
      await Promise.all(
        runsOf(needed).map(([from, to]) =>
          this.run(
            `SELECT "stamp", "parts", "cells" FROM "${CELL_PACK_MEASUREMENT}" WHERE ${scope}"bv" = ${bv} AND time >= ${from}ms AND time < ${to}ms GROUP BY "municipality"`,
          ),
        ),
      )
    ).flat();
    const packed = currentPacks(packs, markOf, inFlux);

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
        if (covered.has(dayId(m, d))) continue;
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
    return this.combine(cellsOf, blocks, unassigned, q, (m, start, span, cells) => {
      const stamp = stampOf(m, start, span);
      if (stamp !== undefined) this.block(m, start, span, baselines.version, stamp, cells);
    });
  }

  /**
   * Range sums per municipality from its blocks and days, in time order (a municipality whose
   * cells changed membership is answered with luminaire rows), and the blocks of days the range
   * covers whole that are not packed yet handed to `packBlock`.
   */
  private async combine(
    cellsOf: ReadonlyMap<string, DayCells>,
    blocks: ReadonlyMap<string, DayCells>,
    unassigned: ReadonlySet<string>,
    q: EnergyCellQuery,
    packBlock: (m: string, start: number, span: number, cells: DayCells) => void,
  ): Promise<EnergyCells> {
    const municipalities = new Set<string>();
    for (const id of cellsOf.keys()) municipalities.add(splitDayId(id)[0]);
    for (const id of blocks.keys()) municipalities.add(splitBlockId(id)[0]);
    const out: EnergyCells = { byGateway: [], byGroup: [], rows: [] };
    const rowsFor = new Set(unassigned);
    for (const m of [...municipalities].sort()) {
      if (rowsFor.has(m)) continue;
      const units: DayCells[] = [];
      for (let d = q.from; d < q.to; ) {
        const span = BLOCK_SPANS.find((n) => blocks.has(blockId(m, d, n)));
        if (span !== undefined) {
          units.push(blocks.get(blockId(m, d, span))!);
          this.stats.blocksRead++;
          d += span * DAY_MS;
          continue;
        }
        const cells = cellsOf.get(dayId(m, d));
        if (cells) units.push(cells);
        d += DAY_MS;
      }
      const gateways = rangeSums(units.map((c) => c.gateways));
      const groups = rangeSums(units.map((c) => c.groups));
      if (!gateways || !groups) {
        rowsFor.add(m);
        continue;
      }
      for (const [gateway, { fp: _fp, ...s }] of gateways) out.byGateway.push({ municipality: m, gateway, ...s });
      for (const [group, { fp: _fp, ...s }] of groups) out.byGroup.push({ municipality: m, group, ...s });
      this.blocksToPack(m, q, cellsOf, blocks, packBlock);
    }
    this.stats.rowMunicipalities += rowsFor.size;
    for (const m of [...rowsFor].sort()) out.rows.push(...(await this.luminaireEnergy({ from: q.from, to: q.to, municipality: m })));
    return out;
  }

  /** The aligned blocks inside the range not packed yet whose days all have cells that add up. */
  private blocksToPack(
    m: string,
    q: EnergyCellQuery,
    cellsOf: ReadonlyMap<string, DayCells>,
    blocks: ReadonlyMap<string, DayCells>,
    packBlock: (m: string, start: number, span: number, cells: DayCells) => void,
  ): void {
    for (const span of BLOCK_SPANS) {
      for (let start = alignUp(q.from, span); start + span * DAY_MS <= q.to; start += span * DAY_MS) {
        if (blocks.has(blockId(m, start, span))) continue;
        const days: DayCells[] = [];
        for (let d = start; d < start + span * DAY_MS; d += DAY_MS) {
          const c = cellsOf.get(dayId(m, d));
          if (!c) break;
          days.push(c);
        }
        if (days.length !== span) continue;
        const gateways = rangeSums(days.map((c) => c.gateways));
        const groups = rangeSums(days.map((c) => c.groups));
        if (gateways && groups) packBlock(m, start, span, { gateways: entriesOf(gateways), groups: entriesOf(groups) });
      }
    }
  }

  private block(municipality: string, start: number, span: number, version: string, stamp: string, cells: DayCells): void {
    const parts = splitCells(cells);
    const points: InfluxPoint[] = parts.map((text, i) => ({
      measurement: CELL_BLOCK_MEASUREMENT,
      tags: { municipality, bv: version, span: String(span) },
      fields: { stamp, parts: parts.length, cells: text },
      ts: start + i,
    }));
    this.packs.enqueue(blockId(municipality, start, span), points, () => {
      this.stats.blocksWritten++;
    });
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
