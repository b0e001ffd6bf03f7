import { mkdir } from 'node:fs/promises';
import type { z } from 'zod';
import { dirname } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type RefusedPoint, StoreWriteError } from '../errors';
import { MEASUREMENTS } from '../measurements';
import { energyFromRollups } from '../rollups/energy';
import { type IndexedPoint, RollupMaintainer, type WritePlan } from '../rollups/maintainer';
import { rowsFromReadings } from '../rollups/reference';
import { type ApRow, HOUR_MS, type LuminaireRow, type RolledMeasurement, type RollupRow, toApHour, toLuminaireHour } from '../rollups/rows';
import type { ApHour, EnergyQuery, HourQuery, LuminaireEnergy, LuminaireHour, Point, TelemetryStore } from '../types';
import { type EmbeddedStoreConfig, EmbeddedStoreConfigSchema } from './config';
import { classifyDuckDBError, duckDBWriteError } from './duckdb-errors';
import { pointsSql, readLuminaireEnergySums, readRollupRows } from './reads';
import { DuckDBRollupStorage, pointFromRow } from './rollup-storage';
import { appendPoints } from './append-points';
import { RollupBuffer, ROLLUP_FLUSH_INTERVAL_MS } from './rollup-buffer';
import { createRollupTableSql, ROLLUP_TABLE } from './rollup-tables';
import { type ColumnType, createTableSql, quote } from './sql';
import { validatePoints } from './validate';
import { WriteGroup } from './merge-writes';
import { DayTier } from './day-tier';

/**
 * The embedded default store: one DuckDB file. Raw points go in one table per measurement through
 * DuckDB's appender (its bulk path); hourly rollups (luminaire_hour, ap_hour) are written in the
 * same transaction, planned by the shared RollupMaintainer, which also refuses conflicting
 * duplicates and skips identical ones. Writes are serialised on one connection; reads run on a
 * second connection of the same database, so they never queue behind a write (DuckDB's MVCC gives
 * them the last committed state) and a write never waits for a read.
 */
export class EmbeddedStore implements TelemetryStore {
  readonly kind = 'embedded';
  private instance: DuckDBInstance | undefined;
  private writer: DuckDBConnection | undefined;
  private reader: DuckDBConnection | undefined;
  private maintainer: RollupMaintainer | undefined;
  private readonly columns = new Map<Point['measurement'], Map<string, ColumnType>>();
  private tail: Promise<unknown> = Promise.resolve();
  /** set after a fatal DuckDB error: the next call opens the database again */
  private needsReopen = false;
  /** the newest ts written and the newest at the last retention pass (see applyRetention) */
  private newestTs = Number.NEGATIVE_INFINITY;
  private lastRetentionRun = Number.NEGATIVE_INFINITY;
  /** rollup rows between saves (see rollup-buffer.ts) */
  private readonly buffer: RollupBuffer;
  private readonly days: DayTier;
  private flushTimer: NodeJS.Timeout | undefined;
  /** writes queued and not started yet: the next ones join them (bounded by MERGED_POINTS_MAX) */
  private gathering: WriteGroup | undefined;
  /** a save asked for by reads, shared by every read that arrives meanwhile */
  private readFlush: Promise<void> | undefined;

  private readonly config: EmbeddedStoreConfig;

  constructor(config: z.input<typeof EmbeddedStoreConfigSchema>) {
    this.config = EmbeddedStoreConfigSchema.parse(config);
    this.days = new DayTier(this.config.dayTierUtcOffsetHours);
    this.buffer = new RollupBuffer(this.days);
  }

  async init(): Promise<void> {
    if (this.writer) return;
    if (this.config.path !== ':memory:') await mkdir(dirname(this.config.path), { recursive: true });
    await this.open();
  }

  private async open(): Promise<void> {
    this.instance = await DuckDBInstance.create(this.config.path);
    this.writer = await this.instance.connect();
    this.reader = await this.instance.connect();
    const conn = this.writer;
    for (const m of MEASUREMENTS) {
      await conn.run(createTableSql(m));
      const reader = await conn.runAndReadAll(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position',
        { t: m },
      );
      const cols = new Map<string, ColumnType>();
      for (const row of reader.getRowObjectsJS()) cols.set(String(row.column_name), String(row.data_type) as ColumnType);
      this.columns.set(m, cols);
    }
    const backfill: RolledMeasurement[] = [];
    for (const m of ['luminaire', 'ap'] as const) {
      const existed = (
        await conn.runAndReadAll(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '${ROLLUP_TABLE[m]}'`)
      ).getRowObjectsJS()[0];
      await conn.run(createRollupTableSql(m));
      if (Number(existed?.n ?? 0) === 0) backfill.push(m);
    }
    // Before any backfill: saving hour rows refreshes their days.
    await this.days.ensure(conn);
    for (const m of backfill) await this.backfill(conn, m);
    await RollupBuffer.createTables(conn);
    this.maintainer = new RollupMaintainer(
      new DuckDBRollupStorage(
        () => this.connection(),
        // The maintainer's reads of rollup rows must see the rows held (they run outside the write's transaction).
        () => this.buffer.flush(this.connection()),
      ),
    );
    await this.maintainer.load();
    await this.buffer.recover(conn, this.maintainer);
    this.flushTimer ??= setInterval(() => {
      if (this.buffer.due(Date.now())) void this.enqueue(() => this.buffer.flush(this.connection())).catch(() => undefined);
    }, ROLLUP_FLUSH_INTERVAL_MS);
    // The timer never keeps the process alive: close() saves what is held.
    this.flushTimer.unref();
  }

  /** Runs `task` on the writer connection after every write and save queued before it. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** A file written before rollups existed: build them from its raw points once, at open. */
  private async backfill(conn: DuckDBConnection, m: RolledMeasurement): Promise<void> {
    const reader = await conn.runAndReadAll(`SELECT * FROM ${quote(m)}`);
    const rows = rowsFromReadings(
      m,
      reader.getRowObjectsJS().map((o) => pointFromRow(m, o)),
    );
    await this.buffer.upsert(
      conn,
      rows.map((row) => ({ measurement: m, row })),
    );
  }

  /**
   * After a fatal error (a checkpoint on a full disk) DuckDB refuses every statement until the
   * database is opened again; committed data is in the file and its WAL, so reopening loses nothing.
   */
  private async reopen(): Promise<void> {
    try {
      this.reader?.closeSync();
      this.writer?.closeSync();
      this.instance?.closeSync();
    } catch {
      // An invalidated instance may refuse to close cleanly; it is dropped either way.
    }
    this.writer = undefined;
    this.reader = undefined;
    this.instance = undefined;
    this.buffer.forgetConnection();
    await this.open();
    this.needsReopen = false;
  }

  /**
   * Writes the points it can and refuses the others alone: every point is validated first (key
   * tags, names, integer ts, finite numbers, the column type of each field); identical copies of
   * stored points are skipped and conflicting duplicates refused (RollupMaintainer); the new points
   * and the rollup rows they change go in one transaction; a PartialWriteError names the refused
   * indices. Disk full, I/O and lock errors are retryable StoreWriteErrors (duckdb-errors.ts).
   */
  write(points: readonly Point[]): Promise<void> {
    // Writes queued behind the one running go together in one transaction (one commit, one
    // appender per table), each answered for its own points (merge-writes.ts).
    const open = this.gathering;
    if (open?.add(points)) return open.result(points);
    const group = new WriteGroup();
    group.add(points);
    this.gathering = group;
    void this.enqueue(async () => {
      if (this.gathering === group) this.gathering = undefined;
      await group.settle((all) => this.writeNow(all));
    });
    return group.result(points);
  }

  /** Writes what it can of `points`; returns the refused ones (by index into `points`) rather than throwing them. */
  private async writeNow(points: readonly Point[]): Promise<RefusedPoint[]> {
    if (!this.writer && !this.needsReopen) throw new StoreWriteError('embedded store not initialised (call init())', false);
    const { accepted, refused, newColumns } = validatePoints(points, this.columns);
    let plan: WritePlan;
    // Set while the points are being committed: a failure there (disk full while DuckDB writes its
    // WAL) can leave the rows in the database's memory although the call failed, and the retry would
    // then append them again. The store reopens instead, and the fresh maintainer reads what is there.
    let committing = false;
    try {
      if (this.needsReopen) await this.reopen();
      const conn = this.connection();
      const batch = indexed(points, accepted);
      plan = await this.maintainer!.plan(batch);
      // Columns first, each in its own statement: a column must never be remembered as existing
      // when the transaction that added it was rolled back.
      for (const { measurement, name, type } of newColumns) {
        await conn.run(`ALTER TABLE ${quote(measurement)} ADD COLUMN IF NOT EXISTS ${quote(name)} ${type}`);
        this.columns.get(measurement)!.set(name, type);
      }
      committing = true;
      if (plan.points.length > 0 || plan.rows.length > 0) await this.commitPoints(conn, plan);
      plan.commit();
      committing = false;
      const now = Date.now();
      this.buffer.hold(plan.rows, now);
      if (this.buffer.due(now)) await this.buffer.flush(conn);
      await this.applyRetention(conn, plan.points);
    } catch (err) {
      if (committing || classifyDuckDBError(err) === 'reopen') this.needsReopen = true;
      throw duckDBWriteError(err);
    }
    return plan.conflicts.length === 0 ? refused : [...refused, ...plan.conflicts].sort((a, b) => a.index - b.index);
  }

  /**
   * The new points and the hours their rollup rows change, durable when this resolves, in one
   * transaction: BEGIN with the pending marks of the hours not marked yet (one statement, one round
   * trip to DuckDB's threads), the points through one appender per measurement, then COMMIT. The
   * appender's own flush would be its own transaction, run synchronously on the event loop — moving
   * the rows into the table, writing the WAL and syncing it, measured at three quarters of the
   * appender's cost — where broker and ingest run too; inside the explicit transaction the flush
   * only hands the rows to the transaction, and the COMMIT does that work on DuckDB's thread while
   * the event loop goes on with the next messages. Marks and points commit together or not at all.
   */
  private async commitPoints(conn: DuckDBConnection, plan: WritePlan): Promise<void> {
    const markHours = this.buffer.pendingStatement(plan.rows);
    await conn.run(markHours === undefined ? 'BEGIN TRANSACTION' : `BEGIN TRANSACTION; ${markHours}`);
    try {
      await appendPoints(conn, this.columns, plan.points);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * Raw points older than the retention go, at most once an hour of data; rollups stay. "Now" is
   * the newest point written, not the wall clock: a simulated city or a replay of last year's
   * spool keeps its raw points for the period that matters to it.
   */
  private async applyRetention(conn: DuckDBConnection, points: readonly Point[]): Promise<void> {
    for (const p of points) if (p.ts > this.newestTs) this.newestTs = p.ts;
    if (this.newestTs - this.lastRetentionRun < HOUR_MS) return;
    this.lastRetentionRun = this.newestTs;
    const cutoff = this.newestTs - this.config.rawRetentionDays * 24 * HOUR_MS;
    for (const m of MEASUREMENTS) await conn.run(`DELETE FROM ${quote(m)} WHERE ts < $cutoff`, { cutoff });
  }

  /**
   * Raw reads wait only for a reopen in progress, never for writes (their own connection). Rollup
   * reads first have the rows held saved (one save queued behind the writes already queued, shared
   * by the reads that arrive meanwhile), so they see every write that finished before them.
   */
  private async readConnection(rollups = false): Promise<DuckDBConnection> {
    if (this.needsReopen) await this.tail;
    if (rollups && this.buffer.size > 0) {
      this.readFlush ??= this.enqueue(() => this.buffer.flush(this.connection())).finally(() => {
        this.readFlush = undefined;
      });
      await this.readFlush;
    }
    if (!this.reader) throw new Error('embedded store not initialised (call init())');
    return this.reader;
  }

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    const conn = await this.readConnection(true);
    return energyFromRollups(
      {
        luminaireRows: (hq) => this.rows('luminaire', hq) as Promise<LuminaireRow[]>,
        luminaireEnergySums: (hq) => readLuminaireEnergySums(conn, hq, this.days),
        luminairePoints: async (hq) => {
          const { sql, params } = pointsSql('luminaire', hq);
          return (await conn.runAndReadAll(sql, params)).getRowObjectsJS().map((o) => pointFromRow('luminaire', o));
        },
      },
      q,
    );
  }

  async luminaireHours(q: HourQuery): Promise<LuminaireHour[]> {
    return ((await this.rows('luminaire', q)) as LuminaireRow[]).map(toLuminaireHour);
  }

  async apHours(q: HourQuery): Promise<ApHour[]> {
    return ((await this.rows('ap', q)) as ApRow[]).map(toApHour);
  }

  private async rows(m: RolledMeasurement, q: HourQuery): Promise<RollupRow[]> {
    return readRollupRows(await this.readConnection(true), m, q);
  }

  async countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    if (!MEASUREMENTS.includes(measurement)) throw new Error(`unknown measurement ${measurement}`);
    const conn = await this.readConnection();
    const reader = await conn.runAndReadAll(`SELECT count(*) AS n FROM ${quote(measurement)} WHERE ts >= $from AND ts < $to`, { from, to });
    return Number(reader.getRowObjectsJS()[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    // A failed save loses nothing: its hours are still pending and are rebuilt at the next open.
    if (this.writer && !this.needsReopen) await this.enqueue(() => this.buffer.flush(this.connection())).catch(() => undefined);
    await this.tail;
    this.reader?.closeSync();
    this.writer?.closeSync();
    this.instance?.closeSync();
    this.reader = undefined;
    this.writer = undefined;
    this.instance = undefined;
  }

  private connection(): DuckDBConnection {
    if (!this.writer) throw new StoreWriteError('embedded store not initialised (call init())', false);
    return this.writer;
  }
}

/** The accepted points with their indices in the batch as given (validatePoints keeps order). */
function indexed(all: readonly Point[], accepted: readonly Point[]): IndexedPoint[] {
  const out: IndexedPoint[] = [];
  let j = 0;
  for (let i = 0; i < all.length && j < accepted.length; i++) {
    if (all[i] === accepted[j]) {
      out.push({ index: i, point: all[i]! });
      j++;
    }
  }
  return out;
}
