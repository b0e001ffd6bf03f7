import type { DuckDBConnection } from '@duckdb/node-api';
import { SERIES_KEY_TAGS } from '../measurements';
import type { RollupMaintainer, WritePlan } from '../rollups/maintainer';
import { HOUR_MS, keyId, type RolledMeasurement } from '../rollups/rows';
import { appendColumnWise, type CellValue } from './column-append';
import type { DayTier } from './day-tier';
import { migrateRollupTables, ROLLUP_TABLE, rollupColumnTypes, rowValues } from './rollup-tables';
import { quote } from './sql';

/** Rollup rows held before a save forces one (each is one row per series and hour: a city's hour fits). */
export const ROLLUP_BUFFER_MAX_ROWS = 50_000;
/**
 * Rows changed longer ago than this are saved at the next write or by the store's timer. A save
 * costs about the same whatever the interval (one row per series and hour, upserted by key: ~4,000
 * rows for a 4,000-luminaire city), so a longer interval saves less often for the same rows: at 2 s
 * saves took a tenth of the write path's time. Reads never see it (a rollup read saves first); a
 * crash costs recomputing the pending hours at the next open.
 */
export const ROLLUP_FLUSH_INTERVAL_MS = 10_000;

/** Hours whose rollup rows may be unsaved: written with the raw points, emptied by each save. */
const PENDING_TABLE = 'rollup_pending';

/**
 * The embedded store's rollup rows between saves. At 1 reading per luminaire per second every
 * batch changes the current hour's row of nearly every series; saving them per batch cost more
 * than the raw points (9.6k points/s). Rows are kept here, newest version per series and hour,
 * and saved in one transaction every ROLLUP_FLUSH_INTERVAL_MS, when ROLLUP_BUFFER_MAX_ROWS are
 * held, before a read of rollups, before the maintainer reads the store (late readings), and at
 * close.
 *
 * Rollups are derived data: what a crash loses is rebuilt from raw, which is durable. Each write
 * records its (measurement, hour) pairs in rollup_pending before its points are committed (once per
 * pair between saves); a save empties it in its own transaction; at open, every series with raw points in a pending hour is recomputed (and the
 * following hours whose chain changes) before anything else.
 */
export class RollupBuffer {
  /** @param days the day tier every save of luminaire hours refreshes (day-tier.ts) */
  constructor(private readonly days: DayTier) {}

  /** by series (seriesOf), then hourStart: no key string built per row held */
  private readonly rows = new Map<string, Map<number, Held>>();
  private held = 0;
  private readonly stagingReady = new Set<string>();
  /** hours per measurement committed to rollup_pending since the last save: not inserted again */
  private readonly pendingKnown = new Map<RolledMeasurement, Set<number>>();
  private oldest = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.held;
  }

  /** Whether the rows held should be saved now (too many, or held too long). */
  due(now: number): boolean {
    return this.held >= ROLLUP_BUFFER_MAX_ROWS || (this.held > 0 && now - this.oldest >= ROLLUP_FLUSH_INTERVAL_MS);
  }

  static async createTables(conn: DuckDBConnection): Promise<void> {
    // The rollup tables exist by now (the store's open); a file from an earlier version gains its missing columns.
    await migrateRollupTables(conn);
    await conn.run(
      `CREATE TABLE IF NOT EXISTS ${PENDING_TABLE} (measurement VARCHAR NOT NULL, hour_start BIGINT NOT NULL, PRIMARY KEY (measurement, hour_start))`,
    );
  }

  /**
   * The statement marking the hours `rows` change that are not marked yet (undefined: none, the
   * usual case — a statement per batch for the same hour cost as much as the commit). Run before
   * the write's points are committed, so a crash in between leaves every unsaved hour marked.
   */
  pendingStatement(rows: WritePlan['rows']): string | undefined {
    const hours = new Map<RolledMeasurement, Set<number>>();
    let lastMeasurement: RolledMeasurement | undefined;
    let lastHour = Number.NaN;
    for (const { measurement, row } of rows) {
      // Rows of a batch mostly share one hour: no lookup, no string, per row.
      if (row.hourStart === lastHour && measurement === lastMeasurement) continue;
      lastMeasurement = measurement;
      lastHour = row.hourStart;
      if (this.pendingKnown.get(measurement)?.has(row.hourStart)) continue;
      const set = hours.get(measurement) ?? new Set<number>();
      hours.set(measurement, set);
      set.add(row.hourStart);
    }
    if (hours.size === 0) return undefined;
    const values = [...hours].flatMap(([m, set]) => [...set].map((hour) => `('${m}', ${hour})`));
    return `INSERT OR IGNORE INTO ${PENDING_TABLE} VALUES ${values.join(', ')}`;
  }

  /** After the write's commit (its pending hours committed too): its rows replace older versions of the same series and hour. */
  hold(rows: WritePlan['rows'], now: number): void {
    if (this.held === 0) this.oldest = now;
    let lastMeasurement: RolledMeasurement | undefined;
    let lastHour = Number.NaN;
    for (const r of rows) {
      const series = seriesOf(r.measurement, r.row.key);
      let hours = this.rows.get(series);
      if (hours === undefined) {
        hours = new Map();
        this.rows.set(series, hours);
      }
      const before = hours.size;
      hours.set(r.row.hourStart, r);
      this.held += hours.size - before;
      if (r.row.hourStart === lastHour && r.measurement === lastMeasurement) continue;
      lastMeasurement = r.measurement;
      lastHour = r.row.hourStart;
      const known = this.pendingKnown.get(r.measurement) ?? new Set<number>();
      this.pendingKnown.set(r.measurement, known);
      known.add(r.row.hourStart);
    }
  }

  /**
   * Saves every row held and clears the pending hours, in one transaction; on failure the rows stay
   * held. Two round trips to DuckDB's threads (each costs milliseconds on a loaded machine): the
   * BEGIN with the staging tables emptied, then the upserts, the pending hours' DELETE and the
   * COMMIT; the rows go into staging in between through the appender, synchronously.
   */
  async flush(conn: DuckDBConnection, evenIfEmpty = false): Promise<void> {
    if (this.held === 0 && !evenIfEmpty) return;
    const rows: Held[] = [];
    for (const hours of this.rows.values()) for (const r of hours.values()) rows.push(r);
    const used = ROLLED.filter((m) => rows.some((r) => r.measurement === m));
    await this.ensureStaging(conn, used);
    await conn.run(['BEGIN TRANSACTION', ...used.map((m) => `DELETE FROM ${stagingOf(m)}`)].join('; '));
    try {
      await this.upsert(conn, rows, [`DELETE FROM ${PENDING_TABLE}`, 'COMMIT']);
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    this.rows.clear();
    this.held = 0;
    this.pendingKnown.clear();
    this.oldest = Number.POSITIVE_INFINITY;
  }

  /** At open, after maintainer.load(): rebuilds the rows of pending hours from raw and saves them. */
  async recover(conn: DuckDBConnection, maintainer: RollupMaintainer): Promise<void> {
    const pending = (await conn.runAndReadAll(`SELECT measurement, hour_start FROM ${PENDING_TABLE}`)).getRowObjectsJS();
    if (pending.length === 0) return;
    const repair = new Map<string, { m: RolledMeasurement; key: string[]; hours: Set<number> }>();
    for (const p of pending) {
      const m = String(p.measurement) as RolledMeasurement;
      const hour = Number(p.hour_start);
      const tags = SERIES_KEY_TAGS[m];
      const series = await conn.runAndReadAll(
        `SELECT DISTINCT ${tags.map(quote).join(', ')} FROM ${quote(m)} WHERE ts >= $from AND ts < $to`,
        { from: hour, to: hour + HOUR_MS },
      );
      for (const o of series.getRowObjectsJS()) {
        const key = tags.map((t) => String(o[t]));
        const k = `${m}|${keyId(key)}`;
        const entry = repair.get(k) ?? { m, key, hours: new Set<number>() };
        repair.set(k, entry);
        entry.hours.add(hour);
      }
    }
    const plan = await maintainer.planRepair(repair);
    this.hold(plan.rows, 0);
    // Saved even when no row changed: the pending hours are cleared with it.
    await this.flush(conn, true);
    plan.commit();
  }

  /** A connection was replaced: its temporary staging tables are gone. */
  forgetConnection(): void {
    this.stagingReady.clear();
    // Reopened: recover() rebuilds from rollup_pending as committed.
    this.pendingKnown.clear();
  }

  /** The temporary staging tables, once per connection, outside any transaction (a rolled-back CREATE would be forgotten). */
  private async ensureStaging(conn: DuckDBConnection, measurements: readonly RolledMeasurement[]): Promise<void> {
    for (const m of measurements) {
      const staging = stagingOf(m);
      if (this.stagingReady.has(staging)) continue;
      await conn.run(`CREATE TEMP TABLE IF NOT EXISTS ${staging} AS SELECT * FROM ${ROLLUP_TABLE[m]} LIMIT 0`);
      this.stagingReady.add(staging);
    }
  }

  /**
   * Rows through the appender into a temporary staging table (same columns, no key), column by
   * column, then one INSERT OR REPLACE … SELECT per table, run in one statement list with `then`
   * after them: a parameterised VALUES list of thousands of rows cost more than the points themselves.
   */
  async upsert(conn: DuckDBConnection, rows: WritePlan['rows'], then: readonly string[] = []): Promise<void> {
    const statements: string[] = [];
    for (const m of ROLLED) {
      const mine = rows.filter((r) => r.measurement === m);
      if (mine.length === 0) continue;
      await this.ensureStaging(conn, [m]);
      const staging = stagingOf(m);
      const values = mine.map(({ row }) => rowValues(m, row));
      const appender = await conn.createAppender(staging, 'main', 'temp');
      try {
        appendColumnWise(
          appender,
          rollupColumnTypes(m).map((type, c) => ({ type, value: (i: number) => values[i]![c] as CellValue })),
          values.length,
        );
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      statements.push(`INSERT OR REPLACE INTO ${ROLLUP_TABLE[m]} SELECT * FROM ${staging}`);
      // The day tier follows its hours in the same transaction (day-tier.ts).
      if (m === 'luminaire') statements.push(this.days.refreshSql(staging));
      statements.push(`DELETE FROM ${staging}`);
    }
    statements.push(...then);
    if (statements.length > 0) await conn.run(statements.join('; '));
  }
}

const ROLLED = ['luminaire', 'ap'] as const;

type Held = WritePlan['rows'][number];

/**
 * `measurement|keyId` of a row's series key, built once per key array: the maintainer's copies of
 * a series' row share their key array, so holding a row is a weak-map hit rather than a joined
 * string per row (a tenth of the write path's time when it was built per row).
 */
const SERIES_OF_KEY = new WeakMap<readonly string[], string>();

function seriesOf(m: RolledMeasurement, key: readonly string[]): string {
  let series = SERIES_OF_KEY.get(key);
  if (series === undefined || !series.startsWith(m)) {
    series = `${m}|${keyId(key)}`;
    SERIES_OF_KEY.set(key, series);
  }
  return series;
}

function stagingOf(m: RolledMeasurement): string {
  return `${ROLLUP_TABLE[m]}_staging`;
}
