import { InfluxDB } from 'influx';
import { StoreWriteError } from '../errors';
import { influxqlCountPoints, seriesOf, type InfluxQLSeries } from '../influxql/reads';
import { linesOf } from '../influxql/line-writer';
import { type InfluxPoint, InfluxRollupLayer } from '../influxql/rollup-layer';
import { InfluxCellTier } from '../influxql/cell-tier';
import { missingCellDirectories, staleCellDays } from '../influxql/cell-staleness';
import { InfluxDayTier } from '../influxql/day-tier';
import { statusOf, toStoreWriteError } from '../influx-errors';
import type {
  ApHour,
  BaselineSource,
  EnergyCellQuery,
  EnergyCells,
  EnergyCellStats,
  EnergyQuery,
  HourQuery,
  LuminaireEnergy,
  LuminaireHour,
  Point,
  StaleCellDays,
  TelemetryStore,
} from '../types';
import type { InfluxDB1StoreConfig } from './config';

const NEVER_DISABLE = {
  getDelay: () => 0,
  next() {
    return this;
  },
  reset() {
    return this;
  },
};

/** A write the server answered with a status other than 204: the status and body, for toStoreWriteError. */
class WriteStatusError extends Error {
  constructor(
    readonly statusCode: number,
    body: string,
  ) {
    super(body);
  }
}

const WRITE_TIMEOUT_MS = 15_000;

/**
 * InfluxDB 1.x: writes are line protocol POSTed to /write with ms precision by this module (the
 * `influx` package's writePoints escaped and coerced every point through its schema code, a third
 * of ingest's CPU: `npm run bench -- ingest`); InfluxQL /query and CREATE DATABASE through `influx`.
 * Hourly rollups and duplicate refusal come from ../influxql/rollup-layer.ts: each write sends the
 * new raw points (with marks of the series-hours they dirty); rollup rows are coalesced and written
 * about once a second, and before every read.
 */
export class InfluxDB1Store implements TelemetryStore {
  readonly kind = 'influxdb1';
  private readonly client: InfluxDB;
  private readonly rollups: InfluxRollupLayer;
  /** municipality-day packs of per-luminaire energy (../influxql/day-tier.ts), marked by the rows written */
  private readonly dayTier: InfluxDayTier;
  /** municipality-day packs of the savings sums per gateway and group (../influxql/cell-tier.ts) */
  private readonly cellTier: InfluxCellTier;
  private readonly writeUrl: string;
  private readonly queryUrl: string;
  private readonly authorization: string | undefined;

  constructor(private readonly config: InfluxDB1StoreConfig) {
    const u = new URL(config.url);
    this.client = new InfluxDB({
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 8086)),
      protocol: u.protocol === 'https:' ? 'https' : 'http',
      username: decodeURIComponent(u.username) || 'root',
      password: decodeURIComponent(u.password) || 'root',
      database: config.database,
      // The client's pool takes a host out of rotation for up to 10 s after a 5xx or a network
      // error and fails every call meanwhile with "No host available" — invisible to our own
      // retry and spool logic, and after a full disk it kept ingest failing long after influxd
      // recovered. Retries and back-off are ingest's job: never disable the one host, never
      // retry inside the client.
      pool: { maxRetries: 0, requestTimeout: 15_000, backoff: NEVER_DISABLE },
    });
    this.dayTier = new InfluxDayTier(this.run, (points) => this.send(points));
    this.cellTier = new InfluxCellTier(
      this.run,
      (points) => this.send(points),
      (q) => this.luminaireEnergy(q),
    );
    this.rollups = new InfluxRollupLayer(this.run, (points) => this.send(points), {
      deleteBefore: (measurement, beforeMs) => this.deleteBefore(measurement, beforeMs),
      onRowsWritten: this.dayTier.rowsWritten,
    });
    // The port the `influx` client defaults to as well: 8086, or 443 for https.
    const base = `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 8086)}${u.pathname.replace(/\/$/, '')}`;
    this.writeUrl = `${base}/write?${new URLSearchParams({ db: config.database, precision: 'ms' })}`;
    this.queryUrl = `${base}/query?${new URLSearchParams({ db: config.database })}`;
    const user = decodeURIComponent(u.username);
    this.authorization = user ? `Basic ${Buffer.from(`${user}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
  }

  async init(): Promise<void> {
    // CREATE DATABASE is idempotent in InfluxDB 1.x.
    await this.client.createDatabase(this.config.database);
  }

  write(points: readonly Point[]): Promise<void> {
    return this.rollups.write(points);
  }

  private async send(points: readonly InfluxPoint[]): Promise<void> {
    if (points.length === 0) return;
    let body: string;
    try {
      body = linesOf(points);
    } catch (err) {
      throw new StoreWriteError(`influxdb1: unwritable point: ${(err as Error).message}`, false, 0, { cause: err });
    }
    try {
      const res = await fetch(this.writeUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain; charset=utf-8', ...(this.authorization ? { Authorization: this.authorization } : {}) },
        body,
        signal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.status !== 204 && res.status !== 200) throw new WriteStatusError(res.status, text);
    } catch (err) {
      throw toStoreWriteError('influxdb1 write', err, statusOf(err), points.length);
    }
  }

  /** DELETE is refused on GET /query (the influx client's queryRaw): POSTed here, for the layer's old marks. */
  private async deleteBefore(measurement: string, beforeMs: number): Promise<void> {
    const res = await fetch(this.queryUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(this.authorization ? { Authorization: this.authorization } : {}),
      },
      body: new URLSearchParams({ q: `DELETE FROM "${measurement}" WHERE time < ${Math.trunc(beforeMs)}ms` }),
      signal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok || text.includes('"error"'))
      throw new Error(`influxdb1 DELETE FROM ${measurement}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }

  private readonly run = async (query: string): Promise<InfluxQLSeries[]> => {
    const body: unknown = await this.client.queryRaw(query, { precision: 'ms', database: this.config.database });
    return seriesOf(body);
  };

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    await this.rollups.beforeRead();
    return this.dayTier.luminaireEnergy(q, (hq) => this.rollups.luminaireEnergy(hq));
  }

  async energyCells(q: EnergyCellQuery, baselines: BaselineSource): Promise<EnergyCells | undefined> {
    await this.rollups.beforeRead();
    return this.cellTier.energyCells(q, baselines);
  }

  async staleCellDays(q: { municipality: string; from: number; to: number }, baselines: BaselineSource): Promise<StaleCellDays> {
    await this.rollups.beforeRead();
    // Packs a read queued are counted once written.
    await this.cellTier.packsSettled();
    return staleCellDays(this.run, q.municipality, q.from, q.to, baselines.version);
  }

  async packCellDirectories(q: { from: number; to: number }, baselines: BaselineSource): Promise<number> {
    await this.rollups.beforeRead();
    const points = await missingCellDirectories(this.run, q.from, q.to, baselines.version);
    if (points.length > 0) await this.send(points);
    return points.length;
  }

  energyCellStats(): Readonly<EnergyCellStats> {
    return this.cellTier.stats;
  }

  async luminaireHours(q: HourQuery): Promise<LuminaireHour[]> {
    await this.rollups.beforeRead();
    return this.rollups.luminaireHours(q);
  }

  async apHours(q: HourQuery): Promise<ApHour[]> {
    await this.rollups.beforeRead();
    return this.rollups.apHours(q);
  }

  countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    return influxqlCountPoints(this.run, measurement, from, to);
  }

  async close(): Promise<void> {
    // The influx client keeps no connection open between requests; the layer writes its dirty rows.
    await this.rollups.close();
  }
}
