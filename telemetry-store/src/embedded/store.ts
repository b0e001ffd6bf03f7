import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { MEASUREMENTS, SERIES_KEY_TAGS } from '../measurements';
import { StoreWriteError } from '../errors';
import type { EnergyQuery, LuminaireEnergy, Point, TelemetryStore } from '../types';
import type { EmbeddedStoreConfig } from './config';
import { columnTypeOf, createTableSql, energySql, isSafeIdentifier, KNOWN_COLUMNS, quote, type ColumnType } from './sql';

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

  constructor(private readonly config: EmbeddedStoreConfig) {}

  async init(): Promise<void> {
    if (this.conn) return;
    if (this.config.path !== ':memory:') await mkdir(dirname(this.config.path), { recursive: true });
    this.instance = await DuckDBInstance.create(this.config.path);
    this.conn = await this.instance.connect();
    for (const m of MEASUREMENTS) {
      await this.conn.run(createTableSql(m));
      const reader = await this.conn.runAndReadAll(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t',
        { t: m },
      );
      const cols = new Map<string, ColumnType>();
      for (const row of reader.getRowObjectsJS()) cols.set(String(row.column_name), String(row.data_type) as ColumnType);
      this.columns.set(m, cols);
    }
  }

  write(points: readonly Point[]): Promise<void> {
    const run = this.tail.then(() => this.writeNow(points));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async writeNow(points: readonly Point[]): Promise<void> {
    const conn = this.connection();
    const byMeasurement = groupAndDedupe(points);
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [m, rows] of byMeasurement) {
        const cols = await this.ensureColumns(conn, m, rows);
        for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
          await this.insertRows(conn, m, cols, rows.slice(i, i + ROWS_PER_STATEMENT));
        }
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      if (err instanceof StoreWriteError) throw err;
      // A bad value (e.g. a string into a number column) never succeeds on retry.
      throw new StoreWriteError(`embedded write failed: ${(err as Error).message}`, false, 0, { cause: err });
    }
  }

  private async ensureColumns(conn: DuckDBConnection, m: Point['measurement'], rows: readonly Point[]): Promise<string[]> {
    const known = this.columns.get(m)!;
    const keyTags = new Set<string>(SERIES_KEY_TAGS[m]);
    const used = new Set<string>();
    for (const p of rows) {
      for (const k of keyTags) {
        if (typeof p.tags[k] !== 'string') throw new StoreWriteError(`${m} point without tag ${k}`, false);
      }
      for (const [name, value] of [...Object.entries(p.tags), ...Object.entries(p.fields)]) {
        if (!isSafeIdentifier(name)) throw new StoreWriteError(`${m}: unusable tag/field name ${JSON.stringify(name)}`, false);
        used.add(name);
        if (!known.has(name)) {
          const type = columnTypeOf(value);
          await conn.run(`ALTER TABLE ${quote(m)} ADD COLUMN IF NOT EXISTS ${quote(name)} ${type}`);
          known.set(name, type);
        }
      }
    }
    return ['ts', ...[...used].sort()];
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
    if (!MEASUREMENTS.includes(measurement)) throw new Error(`unknown measurement ${measurement}`);
    const reader = await this.connection().runAndReadAll(
      `SELECT count(*) AS n FROM ${quote(measurement)} WHERE ts >= $from AND ts < $to`,
      { from, to },
    );
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
    if (!Number.isSafeInteger(p.ts)) throw new StoreWriteError(`point ts must be integer ms, got ${p.ts}`, false);
    if (!(p.measurement in KNOWN_COLUMNS)) throw new StoreWriteError(`unknown measurement ${String(p.measurement)}`, false);
    const m = out.get(p.measurement) ?? new Map<string, Point>();
    out.set(p.measurement, m);
    const key = JSON.stringify([...SERIES_KEY_TAGS[p.measurement].map((t) => p.tags[t]), p.ts]);
    m.set(key, p);
  }
  return new Map([...out].map(([k, v]) => [k, [...v.values()]]));
}
