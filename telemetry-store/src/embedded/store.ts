import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { MEASUREMENTS, SERIES_KEY_TAGS } from '../measurements';
import { refusedPointsError, StoreWriteError } from '../errors';
import type { EnergyQuery, LuminaireEnergy, Point, TelemetryStore } from '../types';
import type { EmbeddedStoreConfig } from './config';
import { classifyDuckDBError, duckDBWriteError } from './duckdb-errors';
import { createTableSql, energySql, quote, type ColumnType } from './sql';
import { validatePoints } from './validate';

/** Rows per INSERT statement: keeps the parameter list of one statement moderate. */
const ROWS_PER_STATEMENT = 500;

/**
 * The embedded default store: one DuckDB file, one table per measurement keyed by series tags + ts,
 * INSERT OR REPLACE so a replayed point overwrites. One connection; writes are serialised because
 * a DuckDB connection runs one transaction at a time.
 */
export class EmbeddedStore implements TelemetryStore {
  readonly kind = 'embedded';
  private instance: DuckDBInstance | undefined;
  private conn: DuckDBConnection | undefined;
  private readonly columns = new Map<Point['measurement'], Map<string, ColumnType>>();
  private tail: Promise<unknown> = Promise.resolve();
  /** set after a fatal DuckDB error: the next call opens the database again */
  private needsReopen = false;

  constructor(private readonly config: EmbeddedStoreConfig) {}

  async init(): Promise<void> {
    if (this.conn) return;
    if (this.config.path !== ':memory:') await mkdir(dirname(this.config.path), { recursive: true });
    await this.open();
  }

  private async open(): Promise<void> {
    this.instance = await DuckDBInstance.create(this.config.path);
    this.conn = await this.instance.connect();
    for (const m of MEASUREMENTS) {
      await this.conn.run(createTableSql(m));
      const reader = await this.conn.runAndReadAll('SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t', {
        t: m,
      });
      const cols = new Map<string, ColumnType>();
      for (const row of reader.getRowObjectsJS()) cols.set(String(row.column_name), String(row.data_type) as ColumnType);
      this.columns.set(m, cols);
    }
  }

  /**
   * After a fatal error (a checkpoint on a full disk) DuckDB refuses every statement until the
   * database is opened again; committed data is in the file and its WAL, so reopening loses nothing.
   */
  private async reopen(): Promise<void> {
    try {
      this.conn?.closeSync();
      this.instance?.closeSync();
    } catch {
      // An invalidated instance may refuse to close cleanly; it is dropped either way.
    }
    this.conn = undefined;
    this.instance = undefined;
    await this.open();
    this.needsReopen = false;
  }

  /**
   * Writes the points it can and refuses the others alone: every point is validated first (key
   * tags, names, integer ts, finite numbers, the column type of each field), the valid ones go in
   * one transaction, and when some were refused a PartialWriteError names them (indices). Disk
   * full, I/O and lock errors are retryable StoreWriteErrors (duckdb-errors.ts).
   */
  write(points: readonly Point[]): Promise<void> {
    const run = this.tail.then(() => this.writeNow(points));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async writeNow(points: readonly Point[]): Promise<void> {
    if (!this.conn && !this.needsReopen) throw new StoreWriteError('embedded store not initialised (call init())', false);
    const { accepted, refused, newColumns } = validatePoints(points, this.columns);
    try {
      if (this.needsReopen) await this.reopen();
      const conn = this.connection();
      // Columns first, each in its own statement: a column must never be remembered as existing
      // when the transaction that added it was rolled back.
      for (const { measurement, name, type } of newColumns) {
        await conn.run(`ALTER TABLE ${quote(measurement)} ADD COLUMN IF NOT EXISTS ${quote(name)} ${type}`);
        this.columns.get(measurement)!.set(name, type);
      }
      const byMeasurement = groupAndDedupe(accepted);
      if (byMeasurement.size > 0) {
        await conn.run('BEGIN TRANSACTION');
        try {
          for (const [m, rows] of byMeasurement) {
            const cols = columnsOf(rows);
            for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
              await this.insertRows(conn, m, cols, rows.slice(i, i + ROWS_PER_STATEMENT));
            }
          }
          await conn.run('COMMIT');
        } catch (err) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } catch (err) {
      if (classifyDuckDBError(err) === 'reopen') this.needsReopen = true;
      throw duckDBWriteError(err);
    }
    if (refused.length > 0) throw refusedPointsError('embedded', points.length, refused);
  }

  private async insertRows(conn: DuckDBConnection, m: Point['measurement'], cols: string[], rows: readonly Point[]): Promise<void> {
    const values: DuckDBValue[] = [];
    const tuples: string[] = [];
    for (const p of rows) {
      const slots: string[] = [];
      for (const c of cols) {
        values.push(c === 'ts' ? p.ts : (p.tags[c] ?? p.fields[c] ?? null));
        slots.push(`$${values.length}`);
      }
      tuples.push(`(${slots.join(', ')})`);
    }
    const sql = `INSERT OR REPLACE INTO ${quote(m)} (${cols.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`;
    await conn.run(sql, values);
  }

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    await this.tail;
    if (this.needsReopen) await this.reopen();
    const params: Record<string, DuckDBValue> = { from: q.from, to: q.to };
    if (q.municipality !== undefined) params.municipality = q.municipality;
    if (q.gateway !== undefined) params.gateway = q.gateway;
    const sql = energySql({ municipality: q.municipality !== undefined, gateway: q.gateway !== undefined });
    const reader = await this.connection().runAndReadAll(sql, params);
    return reader.getRowObjectsJS().map((r) => ({
      municipality: String(r.municipality),
      gateway: String(r.gateway),
      luminaire: String(r.luminaire),
      group: r.grp === null ? 'ungrouped' : String(r.grp),
      energyWh: Number(r.energy_wh),
      litHours: Number(r.lit_hours),
      points: Number(r.points),
      firstTs: Number(r.first_ts),
      lastTs: Number(r.last_ts),
    }));
  }

  async countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    await this.tail;
    if (this.needsReopen) await this.reopen();
    if (!MEASUREMENTS.includes(measurement)) throw new Error(`unknown measurement ${measurement}`);
    const reader = await this.connection().runAndReadAll(`SELECT count(*) AS n FROM ${quote(measurement)} WHERE ts >= $from AND ts < $to`, {
      from,
      to,
    });
    return Number(reader.getRowObjectsJS()[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.tail;
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = undefined;
    this.instance = undefined;
  }

  private connection(): DuckDBConnection {
    if (!this.conn) throw new StoreWriteError('embedded store not initialised (call init())', false);
    return this.conn;
  }
}

/** Splits by measurement; within one statement a key may appear once, so the last copy wins (as a replay would). */
function groupAndDedupe(points: readonly Point[]): Map<Point['measurement'], Point[]> {
  const out = new Map<Point['measurement'], Map<string, Point>>();
  for (const p of points) {
    const m = out.get(p.measurement) ?? new Map<string, Point>();
    out.set(p.measurement, m);
    const key = JSON.stringify([...SERIES_KEY_TAGS[p.measurement].map((t) => p.tags[t]), p.ts]);
    m.set(key, p);
  }
  return new Map([...out].map(([k, v]) => [k, [...v.values()]]));
}

/** The columns an INSERT of these rows names: ts and every tag and field any of them carries. */
function columnsOf(rows: readonly Point[]): string[] {
  const used = new Set<string>();
  for (const p of rows) for (const name of [...Object.keys(p.tags), ...Object.keys(p.fields)]) used.add(name);
  return ['ts', ...[...used].sort()];
}
