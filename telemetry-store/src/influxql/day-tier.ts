import type { EnergyQuery, LuminaireEnergy } from '../types';
import { DAY_MS, luminaireDaySums, tierDayOf } from './day-sums';
import { type InfluxPoint, readPending } from './pending-marks';
import { PackWriter } from './pack-writer';
import { type InfluxQLSeries, type RunInfluxQL, stringLiteral } from './reads';
import type { PlannedRow } from './rollup-writer';

export { TIER_DAY_OFFSET_MS, tierDayOf } from './day-sums';

/**
 * A day tier of per-luminaire energy for the InfluxDB backends, packed per municipality-day.
 *
 * Why packed: InfluxDB 1.6 pays per series and field read, not per value. A municipality-day
 * summed from its hour rows (300 luminaires × 6 aggregates) took 45 ms on a quiet machine however
 * few hours it covered, and a point per luminaire-day would still be 300 series; one point per
 * municipality-day whose string field holds every luminaire's sums is one series (~60 bytes a
 * luminaire, split into parts under InfluxDB's 64 KB string limit).
 *
 * Who writes it: the reader. A municipality-day not in the tier (or stale) is summed from the hour
 * rows — one statement for all such days, GROUP BY time(1d) — which answers the read, and the
 * result is written back as the day's pack in the background. Ingest only writes a mark per
 * municipality-day whose hour rows it wrote (onRowsWritten of the rollup writer, after the rows
 * are stored and before their watermark): a new random value each time. A pack carries the mark
 * value read before its rows were summed, so it is served only while:
 * - its stamp equals the day's current mark (no hour row of that municipality-day written since);
 * - no rollup mark left pending (raw points stored, their rows not yet: rollup-writer.ts) names an
 *   hour of that municipality-day — this covers a writer that stopped between writing rows and
 *   the day mark: its rows' marks stay pending until its next open repairs them;
 * - all its parts are there with that stamp.
 * Otherwise the day is read from the hour rows, as if the tier did not exist.
 *
 * Days start at 03:00 UTC (midnight UTC−3, as the embedded store's day tier by default), so the
 * municipality-day of a Brazilian municipality at UTC−3 is one tier day. Whole days of a range are
 * read from the tier, its edges from the hour path. Only reads naming a municipality (and no
 * gateway) use it: a programme-wide read would unpack every luminaire of every day.
 */
export const DAY_MARK_MEASUREMENT = 'luminaire_day_mark';
export const DAY_PACK_MEASUREMENT = 'luminaire_day_pack';
/** Characters of one pack part, well under InfluxDB's 64 KB limit for a string field value. */
const MAX_PART_CHARS = 48_000;

/** One luminaire's day in a pack: gateway, luminaire, Wh, lit hours, readings, first ts, last ts, group. */
type PackEntry = [string, string, number, number, number, number, number, string];

/** How the days of reads were answered (tests, and the store's metrics). */
export interface DayTierStats {
  /** municipality-days answered from a pack */
  packDays: number;
  /** municipality-days answered from the hour rows (no pack, stale, or pending rows) */
  hourDays: number;
  /** packs written */
  packsWritten: number;
}

/** Reads the per-luminaire energy of a range from the hour rollups (energyFromRollups over the layer). */
export type HourPathEnergy = (q: EnergyQuery) => Promise<LuminaireEnergy[]>;

export class InfluxDayTier {
  readonly stats: DayTierStats = { packDays: 0, hourDays: 0, packsWritten: 0 };
  private readonly packs: PackWriter;

  constructor(
    private readonly run: RunInfluxQL,
    private readonly send: (points: readonly InfluxPoint[]) => Promise<void>,
  ) {
    this.packs = new PackWriter(send);
  }

  /** The rollup writer's onRowsWritten: a fresh mark for each municipality-day the luminaire rows touch. */
  rowsWritten = async (rows: readonly PlannedRow[]): Promise<void> => {
    const days = new Map<string, { municipality: string; day: number }>();
    for (const { measurement, row } of rows) {
      if (measurement !== 'luminaire') continue;
      const municipality = row.key[0] ?? '';
      const day = tierDayOf(row.hourStart);
      days.set(`${municipality}\u0000${day}`, { municipality, day });
    }
    if (days.size === 0) return;
    // A random value, not a clock: two writers (or a restarted one) must never write the same mark
    // for different rows. 2^-52 per pair is the chance of a repeat.
    const v = Math.floor(Math.random() * 2 ** 52);
    await this.send(
      [...days.values()].map(({ municipality, day }) => ({
        measurement: DAY_MARK_MEASUREMENT,
        tags: { municipality },
        fields: { v },
        ts: day,
      })),
    );
  };

  /** Resolves once the packs being written have been (tests). */
  packsSettled(): Promise<void> {
    return this.packs.settled();
  }

  /** Per-luminaire energy over [q.from, q.to): whole tier days from packs where they are current, the rest from `hourPath`. */
  async luminaireEnergy(q: EnergyQuery, hourPath: HourPathEnergy): Promise<LuminaireEnergy[]> {
    const municipality = q.municipality;
    const first = tierDayOf(q.from) === q.from ? q.from : tierDayOf(q.from) + DAY_MS;
    const end = tierDayOf(q.to);
    if (municipality === undefined || q.gateway !== undefined || first >= end) return hourPath(q);
    // Packs an earlier read made may still be on their way: this read finds them written.
    await this.packs.settled();

    const m = stringLiteral(municipality);
    const range = `time >= ${first}ms AND time < ${end}ms`;
    const [marks, packs, pending] = await Promise.all([
      this.run(`SELECT "v" FROM "${DAY_MARK_MEASUREMENT}" WHERE "municipality" = ${m} AND ${range}`),
      this.run(`SELECT "stamp", "parts", "rows" FROM "${DAY_PACK_MEASUREMENT}" WHERE "municipality" = ${m} AND ${range}`),
      readPending(this.run),
    ]);
    const markOf = new Map<number, number>();
    for (const s of marks) for (const row of s.values) markOf.set(Number(row[0]), Number(row[1]));
    const inFlux = new Set<number>();
    for (const p of pending.pending) if (p.m === 'luminaire' && p.key[0] === municipality) inFlux.add(tierDayOf(p.hour));

    const days: Array<{ day: number; entries: PackEntry[] }> = [];
    const fromHours: number[] = [];
    const packed = currentPacks(packs, markOf);
    for (let day = first; day < end; day += DAY_MS) {
      const entries = inFlux.has(day) ? undefined : packed.get(day);
      if (entries) days.push({ day, entries });
      else fromHours.push(day);
    }
    this.stats.packDays += days.length;
    this.stats.hourDays += fromHours.length;

    const [before, summed, after] = await Promise.all([
      q.from < first ? hourPath({ ...q, to: first }) : Promise.resolve([]),
      fromHours.length > 0 ? this.daySums(municipality, fromHours) : Promise.resolve(new Map<number, PackEntry[]>()),
      end < q.to ? hourPath({ ...q, from: end }) : Promise.resolve([]),
    ]);
    for (const day of fromHours) {
      const entries = summed.get(day) ?? [];
      days.push({ day, entries });
      // Only a day whose rows were settled when its mark was read may be packed with that mark.
      if (!inFlux.has(day)) this.pack(municipality, day, markOf.get(day) ?? 0, entries);
    }
    days.sort((a, b) => a.day - b.day);
    return merge(municipality, before, days, after);
  }

  /** Each day's per-luminaire sums from the hour rows, as pack entries. */
  private async daySums(municipality: string, days: readonly number[]): Promise<Map<number, PackEntry[]>> {
    const out = new Map<number, PackEntry[]>();
    for (const [day, rows] of await luminaireDaySums(this.run, municipality, days))
      out.set(
        day,
        rows.map((r) => [r.gateway, r.luminaire, r.energyWh, r.litHours, r.points, r.firstTs, r.lastTs, r.group]),
      );
    return out;
  }

  /** Queues a municipality-day's pack (a pack not written leaves the day to the hour rows). */
  private pack(municipality: string, day: number, stamp: number, entries: readonly PackEntry[]): void {
    const parts = splitParts(entries);
    const points: InfluxPoint[] = parts.map((rows, i) => ({
      measurement: DAY_PACK_MEASUREMENT,
      tags: { municipality },
      fields: { stamp, parts: parts.length, rows },
      // Parts of a day are points a millisecond apart: one series, read by the day's time range.
      ts: day + i,
    }));
    this.packs.enqueue(`${municipality}\u0000${day}`, points, () => {
      this.stats.packsWritten++;
    });
  }
}

/** Days whose parts are all there, with one stamp equal to the day's mark (0 when the day has none). */
function currentPacks(series: readonly InfluxQLSeries[], markOf: ReadonlyMap<number, number>): Map<number, PackEntry[]> {
  const byDay = new Map<number, Array<{ part: number; stamp: number; parts: number; rows: string }>>();
  for (const s of series) {
    const at = (c: string) => s.columns.indexOf(c);
    const [iT, iS, iP, iR] = [at('time'), at('stamp'), at('parts'), at('rows')];
    for (const row of s.values) {
      const t = Number(row[iT]);
      const day = tierDayOf(t);
      const rows = row[iR];
      if (typeof rows !== 'string') continue;
      const list = byDay.get(day) ?? [];
      byDay.set(day, list);
      list.push({ part: t - day, stamp: Number(row[iS]), parts: Number(row[iP]), rows });
    }
  }
  const out = new Map<number, PackEntry[]>();
  for (const [day, list] of byDay) {
    const mark = markOf.get(day) ?? 0;
    const head = list.find((p) => p.part === 0);
    if (!head || head.stamp !== mark) continue;
    const mine = list.filter((p) => p.part < head.parts && p.stamp === mark).sort((a, b) => a.part - b.part);
    if (mine.length !== head.parts) continue;
    out.set(
      day,
      mine.flatMap((p) => JSON.parse(p.rows) as PackEntry[]),
    );
  }
  return out;
}

function splitParts(entries: readonly PackEntry[]): string[] {
  const parts: string[] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const e of entries) {
    const text = JSON.stringify(e);
    if (chunk.length > 0 && chars + text.length + 1 > MAX_PART_CHARS) {
      parts.push(`[${chunk.join(',')}]`);
      chunk = [];
      chars = 0;
    }
    chunk.push(text);
    chars += text.length + 1;
  }
  parts.push(`[${chunk.join(',')}]`);
  return parts;
}

/** Sums per luminaire: the leading edge, then each day in order, then the trailing edge; the group of the latest reading. */
function merge(
  municipality: string,
  before: readonly LuminaireEnergy[],
  days: ReadonlyArray<{ entries: readonly PackEntry[] }>,
  after: readonly LuminaireEnergy[],
): LuminaireEnergy[] {
  const sums = new Map<string, LuminaireEnergy>();
  const add = (
    gateway: string,
    luminaire: string,
    energyWh: number,
    litHours: number,
    points: number,
    firstTs: number,
    lastTs: number,
    group: string,
  ) => {
    const id = `${gateway}\u0000${luminaire}`;
    const s = sums.get(id);
    if (!s) {
      sums.set(id, { municipality, gateway, luminaire, group, energyWh, litHours, points, firstTs, lastTs });
      return;
    }
    s.energyWh += energyWh;
    s.litHours += litHours;
    s.points += points;
    s.firstTs = Math.min(s.firstTs, firstTs);
    if (lastTs >= s.lastTs) {
      s.lastTs = lastTs;
      s.group = group;
    }
  };
  for (const r of before) add(r.gateway, r.luminaire, r.energyWh, r.litHours, r.points, r.firstTs, r.lastTs, r.group);
  for (const { entries } of days) for (const e of entries) add(...e);
  for (const r of after) add(r.gateway, r.luminaire, r.energyWh, r.litHours, r.points, r.firstTs, r.lastTs, r.group);
  return [...sums.values()].sort((a, b) => cmp(a.gateway, b.gateway) || cmp(a.luminaire, b.luminaire));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
