import { InfluxDB, type IPoint } from 'influx';
import { influxqlCountPoints, seriesOf, type InfluxQLSeries } from '../influxql/reads';
import { type InfluxPoint, InfluxRollupLayer } from '../influxql/rollup-layer';
import { statusOf, toStoreWriteError } from '../influx-errors';
import type { ApHour, EnergyQuery, HourQuery, LuminaireEnergy, LuminaireHour, Point, TelemetryStore } from '../types';
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

/**
 * InfluxDB 1.x through the `influx` package: /write with ms precision, InfluxQL /query for reads.
 * Hourly rollups and duplicate refusal come from ../influxql/rollup-layer.ts: each write sends the
 * new raw points and the rollup points of the hours they change in one request.
 */
export class InfluxDB1Store implements TelemetryStore {
  readonly kind = 'influxdb1';
  private readonly client: InfluxDB;
  private readonly rollups: InfluxRollupLayer;

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
    this.rollups = new InfluxRollupLayer(this.run, (points) => this.send(points));
  }

  async init(): Promise<void> {
    // CREATE DATABASE is idempotent in InfluxDB 1.x.
    await this.client.createDatabase(this.config.database);
  }

  write(points: readonly Point[]): Promise<void> {
    return this.rollups.write(points);
  }

  private async send(points: readonly InfluxPoint[]): Promise<void> {
    const batch: IPoint[] = points.map((p) => ({
      measurement: p.measurement,
      tags: p.tags,
      fields: p.fields,
      timestamp: p.ts,
    }));
    try {
      await this.client.writePoints(batch, { precision: 'ms', database: this.config.database });
    } catch (err) {
      throw toStoreWriteError('influxdb1 write', err, statusOf(err), batch.length);
    }
  }

  private readonly run = async (query: string): Promise<InfluxQLSeries[]> => {
    const body: unknown = await this.client.queryRaw(query, { precision: 'ms', database: this.config.database });
    return seriesOf(body);
  };

  luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    return this.rollups.luminaireEnergy(q);
  }

  luminaireHours(q: HourQuery): Promise<LuminaireHour[]> {
    return this.rollups.luminaireHours(q);
  }

  apHours(q: HourQuery): Promise<ApHour[]> {
    return this.rollups.apHours(q);
  }

  countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    return influxqlCountPoints(this.run, measurement, from, to);
  }

  async close(): Promise<void> {
    // The influx client keeps no connection open between requests.
  }
}
