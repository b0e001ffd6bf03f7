import { PartialWriteError, refusedPointsError, StoreWriteError, type RefusedPoint } from '../errors';
import { MEASUREMENTS, SERIES_KEY_TAGS } from '../measurements';
import { type IndexedPoint, RollupMaintainer, type WritePlan } from '../rollups/maintainer';
import { keyId, type RolledMeasurement, type RollupRow } from '../rollups/rows';
import type { Point } from '../types';
import {
  FLUSHED_MEASUREMENT,
  type InfluxPoint,
  markPoints,
  PENDING_MEASUREMENT,
  readPending,
  type SeriesHour,
  seriesHourId,
  watermarkPoint,
} from './pending-marks';
import type { RunInfluxQL } from './reads';
import { rowToPoint } from './rollup-points';
import { InfluxQLRollupStorage } from './rollup-storage';

/** A rollup row the layer writes, with its measurement. */
export interface PlannedRow {
  measurement: RolledMeasurement;
  row: RollupRow;
}

export interface RollupWriterOptions {
  /**
   * Raw-point requests under way at once: two let influxd use both cores (ingest measured 0.66×
   * raw line protocol with two, 0.49× with one); they may be applied in any order, which raw
   * points allow, and rollup rows no longer travel with them.
   */
  writesInFlight?: number;
  /**
   * ms between flushes of the dirty rollup rows (default 2,000); 0: none by timer (tests flush
   * themselves). Rows cost influxd about as much as raw points each: at 1 s the ingest benchmark's
   * 4,000 series at ~50k points/s add one row per ~12 points, at 2 s one per ~25. A series reporting
   * less often than this (a city's luminaire reports once a minute) gains nothing from it.
   */
  flushIntervalMs?: number;
  /** dirty rows that start a flush at once; a write waits while this many are dirty (back-pressure) */
  maxDirtyRows?: number;
  /** deletes the points of `measurement` older than `beforeMs` (old marks and watermarks); none when absent */
  deleteBefore?: (measurement: string, beforeMs: number) => Promise<void>;
  /** ms between deletions of old marks */
  cleanupIntervalMs?: number;
  /**
   * Receives every rollup row once it is written (flushes and repairs), before the watermark
   * that covers it: a consumer deriving something from hour rows (a coarser tier) is fed by it.
   * A rejection fails the flush, and the rows are written and handed over again with the next.
   */
  onRowsWritten?: (rows: readonly PlannedRow[]) => Promise<void>;
  /** the mark clock's source (ms) */
  now?: () => number;
}

/** Series and hours whose rollup rows must be recomputed from raw, keyed like the maintainer's series. */
type RepairSet = Map<string, { m: RolledMeasurement; key: readonly string[]; hours: Set<number> }>;

/**
 * The write side of the InfluxDB rollup layer (rollup-layer.ts): duplicate refusal and hourly
 * rollups kept by the shared RollupMaintainer, with the rollup rows coalesced.
 *
 * A write sends its new raw points at once (up to `writesInFlight` requests overlap) and is
 * answered when they are stored; the rollup rows its plan changed go into a dirty set, one entry
 * per series-hour (a later version of a row replaces the earlier: rows are whole), and the dirty
 * set is written every `flushIntervalMs`, when it reaches `maxDirtyRows`, before a read, and
 * before a plan that reads the store. So a series-hour's row is written once per flush instead of
 * once per batch: in the ingest benchmark every batch touched as many rows as it carried readings.
 *
 * Durability: the request carrying raw points also carries a mark for each series-hour that
 * became dirty in the current flush generation (pending-marks.ts). A flush closes the generation,
 * waits for that generation's raw requests, writes its rows, then a watermark covering its marks.
 * A store opened after a crash recomputes from raw the series-hours of the marks no watermark
 * covers before its first write or read. Generations are flushed one at a time, in order, so rows
 * reach influxd in plan order (an older version of a row applied last would stand below the raw
 * points with nothing to repair it).
 *
 * Failures: when a raw request fails, the writes planned on top of it may have dirty rows
 * counting its readings. Before planning anything else the writer waits for every request in
 * flight, writes the dirty rows of the other series-hours, reloads each series' latest row and
 * recomputes the failed plan's hours from raw. A failed flush keeps its rows dirty (unless a newer
 * version is) and writes no watermark.
 */
export class CoalescedRollupWriter {
  private readonly maintainer: RollupMaintainer;
  private readonly writesInFlight: number;
  private readonly maxDirtyRows: number;
  private readonly now: () => number;
  private tail: Promise<unknown> = Promise.resolve();
  private loaded: Promise<void> | undefined;
  private marksRead = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly repair: RepairSet = new Map();
  /** rows changed since the last flush, by series-hour */
  private dirty = new Map<string, PlannedRow>();
  /** series-hours whose mark a stored request carried in the current generation */
  private markedInGen = new Set<string>();
  private generation = 0;
  private markClock = 0;
  private flushedUpTo = 0;
  /** flushes and repairs, one at a time in order */
  private rowsChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastCleanup: number;
  /** write() was called: this store writes, so its open repairs and its reads flush first */
  private writer = false;
  /** marks the last open found uncovered (tests, and the store's log) */
  repairedAtOpen = 0;

  constructor(
    private readonly run: RunInfluxQL,
    private readonly send: (points: readonly InfluxPoint[]) => Promise<void>,
    private readonly options: RollupWriterOptions = {},
  ) {
    this.maintainer = new RollupMaintainer(new InfluxQLRollupStorage(run));
    this.writesInFlight = options.writesInFlight ?? 2;
    this.maxDirtyRows = options.maxDirtyRows ?? 50_000;
    this.now = options.now ?? Date.now;
    this.lastCleanup = this.now();
  }

  write(points: readonly Point[]): Promise<void> {
    this.writer = true;
    const interval = this.options.flushIntervalMs ?? 2_000;
    if (this.timer === undefined && interval > 0) {
      // A failed timer flush is retried by the next one; reads and settled() report failures.
      this.timer = setInterval(() => void this.flush().catch(() => undefined), interval);
      this.timer.unref();
    }
    // The planning step resolves once the request is sent; the write resolves when it is answered.
    const started = this.tail.then(() => this.planAndSend(points));
    this.tail = started.catch(() => undefined);
    return started.then((s) => s.done);
  }

  /**
   * Writes every row dirty now, then the watermark covering their marks (unless a repair is due:
   * the next write or read makes it). Resolves once written; rejects when the store refused.
   */
  flush(): Promise<void> {
    return this.serially(async () => {
      const upTo = await this.writeDirty();
      if (this.repair.size === 0 && this.marksRead) await this.writeWatermark(upTo);
    });
  }

  /**
   * Before a read by a store that writes: the repair an open or a failure left is made, and every
   * acknowledged reading's rows are written. A store that has not written (the dashboard's, beside
   * ingest's in another process) does nothing: repairing another writer's pending marks would
   * write rows beside that writer's own flushes, and an older recomputation landing after a newer
   * flush would stand below the raw points.
   */
  async beforeRead(): Promise<void> {
    if (!this.writer) return;
    if (!this.loaded || this.repair.size > 0) await this.write([]);
    await this.flush();
  }

  /** Resolves once every write made before has finished, its rows and watermark written, any repair done. */
  async settled(): Promise<void> {
    for (;;) {
      await this.write([]);
      await this.drain();
      await this.flush();
      if (this.loaded && this.repair.size === 0 && this.inFlight.size === 0 && this.dirty.size === 0) return;
    }
  }

  /** Stops the flush timer and writes what is dirty; if that fails, the marks make the next open repair it. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.tail;
    await this.drain();
    await this.flush().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.rowsChain.then(work);
    this.rowsChain = run.catch(() => undefined);
    return run;
  }

  private async planAndSend(points: readonly Point[]): Promise<{ done: Promise<void> }> {
    const refused: RefusedPoint[] = [];
    const valid: IndexedPoint[] = [];
    let plan: WritePlan;
    try {
      if (!this.loaded || this.repair.size > 0) await this.repairNow();
      // Field types are InfluxDB's to check (per shard: a type conflict in last month's shard is
      // none in this week's), so it can drop a point the plan counted: see sendPlan.
      points.forEach((point, index) => {
        const problem = keyProblem(point);
        if (problem) refused.push({ index, reason: problem });
        else valid.push({ index, point });
      });
      // A plan that reads the store must see every write before it, rows included.
      if (this.maintainer.readsStore(valid)) {
        await this.drain();
        await this.flush();
      }
      while (this.inFlight.size >= this.writesInFlight) await Promise.race(this.inFlight);
      // The dirty set's bound: a write waits for a flush, which stops the set growing.
      while (this.dirty.size >= this.maxDirtyRows) await this.flush();
      // A request that failed meanwhile: plan nothing on top of it.
      if (!this.loaded || this.repair.size > 0) await this.repairNow();
      plan = await this.maintainer.plan(valid);
    } catch (err) {
      // Reading or writing rows failed: the store is down or unreachable, nothing is wrong with the points.
      if (err instanceof StoreWriteError) throw err;
      throw new StoreWriteError(`influx: before the write: ${(err as Error).message}`, true, 0, { cause: err });
    }
    plan.commit();
    const generation = this.generation;
    const toMark: SeriesHour[] = [];
    const marked: string[] = [];
    for (const r of plan.rows) {
      const id = seriesHourId(r.measurement, r.row.key, r.row.hourStart);
      this.dirty.set(id, r);
      if (!this.markedInGen.has(id)) {
        marked.push(id);
        toMark.push({ m: r.measurement, key: r.row.key, hour: r.row.hourStart });
      }
    }
    const marks = markPoints(toMark, () => this.tick());
    const done = this.sendPlan(points.length, plan, refused, marks, () => {
      // Only a stored mark counts: a write whose request failed leaves later ones to carry it.
      if (generation === this.generation) for (const id of marked) this.markedInGen.add(id);
    });
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    if (this.dirty.size >= this.maxDirtyRows) void this.flush().catch(() => undefined);
    return { done };
  }

  private tick(): number {
    this.markClock = Math.max(this.now(), this.markClock + 1);
    return this.markClock;
  }

  /** Sends a committed plan's raw points with its marks; the rows wait in the dirty set. */
  private sendPlan(total: number, plan: WritePlan, refused: RefusedPoint[], marks: InfluxPoint[], stored: () => void): Promise<void> {
    const request = marks.length > 0 ? [...plan.points, ...marks] : plan.points;
    const sent = request.length > 0 ? this.send(request) : Promise.resolve();
    return sent.then(
      () => {
        stored();
        const all = [...refused, ...plan.conflicts].sort((a, b) => a.index - b.index);
        if (all.length > 0) throw refusedPointsError('influx', total, all);
      },
      (err: unknown) => {
        // The plan was committed: whatever was planned on top of it may count its readings.
        this.markForRepair(plan);
        this.loaded = undefined;
        if (!(err instanceof PartialWriteError)) throw err;
        // InfluxDB dropped some points we could not foresee: the rows may count them too.
        const written = Math.max(0, plan.points.length - err.refused);
        throw new PartialWriteError(err.message, { written, refused: total - written }, { cause: err });
      },
    );
  }

  private markForRepair(plan: WritePlan): void {
    for (const { measurement, row } of plan.rows) {
      const k = `${measurement}|${keyId(row.key)}`;
      const entry = this.repair.get(k) ?? { m: measurement, key: row.key, hours: new Set<number>() };
      this.repair.set(k, entry);
      entry.hours.add(row.hourStart);
    }
  }

  /**
   * Closes the generation: waits for its raw requests, writes its dirty rows but those to be
   * repaired, and returns the mark time its watermark may cover. On failure the rows stay dirty.
   */
  private async writeDirty(): Promise<number> {
    const rows = this.dirty;
    this.dirty = new Map();
    this.markedInGen = new Set();
    this.generation++;
    const upTo = this.markClock;
    // Only the requests under way now (those of this generation and before): later ones keep coming.
    await Promise.all([...this.inFlight]);
    for (const e of this.repair.values()) for (const h of e.hours) rows.delete(seriesHourId(e.m, e.key, h));
    if (rows.size === 0) return upTo;
    const list = [...rows.values()];
    try {
      await this.send(list.map(({ measurement, row }) => rowToPoint(measurement, row)));
      await this.options.onRowsWritten?.(list);
    } catch (err) {
      // A newer version of a row (planned meanwhile) supersedes the one that failed.
      for (const [id, r] of rows) if (!this.dirty.has(id)) this.dirty.set(id, r);
      throw err;
    }
    return upTo;
  }

  private async writeWatermark(upTo: number): Promise<void> {
    if (upTo <= this.flushedUpTo) return;
    await this.send([watermarkPoint(upTo)]);
    this.flushedUpTo = upTo;
    const deleteBefore = this.options.deleteBefore;
    if (deleteBefore === undefined || this.now() - this.lastCleanup < (this.options.cleanupIntervalMs ?? 600_000)) return;
    this.lastCleanup = this.now();
    // Housekeeping only (reads look after the newest watermark): a failed deletion waits for the next.
    await deleteBefore(PENDING_MEASUREMENT, upTo + 1)
      .then(() => deleteBefore(FLUSHED_MEASUREMENT, upTo))
      .catch(() => undefined);
  }

  /**
   * With nothing in flight and no planning under way: at the first open the marks no watermark
   * covers join the repair; the dirty rows of other series-hours are written; each series' latest
   * row is reloaded from what was really written, the repair set recomputed from raw, and the
   * watermark written.
   */
  private async repairNow(): Promise<void> {
    await this.drain();
    await this.serially(async () => {
      if (!this.marksRead) {
        const state = await readPending(this.run);
        this.markClock = Math.max(this.markClock, state.lastTime);
        for (const { m, key, hour } of state.pending) this.addRepair(m, key, hour);
        this.repairedAtOpen = state.pending.length;
        this.marksRead = true;
      }
      const upTo = await this.writeDirty();
      if (!this.loaded) {
        const attempt = this.maintainer.load();
        this.loaded = attempt;
        attempt.catch(() => {
          if (this.loaded === attempt) this.loaded = undefined;
        });
      }
      await this.loaded;
      if (this.repair.size > 0) {
        const plan = await this.maintainer.planRepair(this.repair);
        if (plan.rows.length > 0) {
          await this.send(plan.rows.map(({ measurement, row }) => rowToPoint(measurement, row)));
          await this.options.onRowsWritten?.(plan.rows);
        }
        plan.commit();
        this.repair.clear();
      }
      await this.writeWatermark(upTo);
    });
  }

  private addRepair(m: RolledMeasurement, key: readonly string[], hour: number): void {
    const k = `${m}|${keyId(key)}`;
    const entry = this.repair.get(k) ?? { m, key, hours: new Set<number>() };
    this.repair.set(k, entry);
    entry.hours.add(hour);
  }
}

/** What InfluxDB would refuse or mangle in a point's identity (the rest it checks itself). */
function keyProblem(p: Point): string | undefined {
  if (!MEASUREMENTS.includes(p.measurement)) return `unknown measurement ${String(p.measurement)}`;
  if (!Number.isSafeInteger(p.ts)) return `point ts must be integer ms, got ${p.ts}`;
  for (const t of SERIES_KEY_TAGS[p.measurement])
    if (typeof p.tags[t] !== 'string' || p.tags[t] === '') return `${p.measurement} point without tag ${t}`;
  return undefined;
}
