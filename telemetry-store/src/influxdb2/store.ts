import { readFile } from 'node:fs/promises';
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import { influxqlCountPoints, seriesOf, type InfluxQLSeries } from '../influxql/reads';
import { pointLine } from '../influxql/line-writer';
import { type InfluxPoint, InfluxRollupLayer } from '../influxql/rollup-layer';
import { statusOf, toStoreWriteError } from '../influx-errors';
import { retryWithBackoff } from '../retry';
import type { ApHour, EnergyQuery, HourQuery, LuminaireEnergy, LuminaireHour, Point, TelemetryStore } from '../types';
import { StoreWriteError } from '../errors';
import type { InfluxDB2StoreConfig } from './config';

/**
 * InfluxDB 2.x/3.x: writes through @influxdata/influxdb-client's WriteApi (/api/v2/write,
 * precision ms, `Authorization: Token …`); reads through InfluxQL on the v1-compatible /query
 * endpoint with the same token. The client's own retry buffer is switched off so that a write()
 * resolves only when the data is really written and fails with a typed StoreWriteError otherwise;
 * retries with backoff are ours (retry.ts), the same policy for every writer.
 */
export class InfluxDB2Store implements TelemetryStore {
  readonly kind = 'influxdb2';
  private readonly base: string;
  /** the token and the client built with it; resolved once (a tokenFile is read on first use) */
  private connection: Promise<{ token: string; client: InfluxDB }> | undefined;
  /** hourly rollups and duplicate refusal (../influxql/rollup-layer.ts) */
  private readonly rollups: InfluxRollupLayer;

  constructor(private readonly config: InfluxDB2StoreConfig) {
    this.base = config.url.replace(/\/+$/, '');
    this.rollups = new InfluxRollupLayer(
      (q) => this.run(q),
      (points) => this.send(points),
      { deleteBefore: (measurement, beforeMs) => this.deleteBefore(measurement, beforeMs) },
    );
  }

  async init(): Promise<void> {
    // Buckets are provisioned by the operator (creating one needs an all-access token); reading the
    // token here makes a missing or empty token file fail when the store is opened, not at first write.
    await this.connect();
  }

  private connect(): Promise<{ token: string; client: InfluxDB }> {
    if (this.connection) return this.connection;
    const attempt = readToken(this.config).then((token) => ({
      token,
      client: new InfluxDB({ url: this.config.url, token, timeout: 30_000 }),
    }));
    // A failed read is not kept: the operator may fix the token file while the process runs.
    attempt.catch(() => {
      if (this.connection === attempt) this.connection = undefined;
    });
    this.connection = attempt;
    return attempt;
  }

  async write(points: readonly Point[]): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      throw new StoreWriteError(`influxdb2: ${(err as Error).message}`, false, 0, { cause: err });
    }
    return this.rollups.write(points);
  }

  private async send(points: readonly InfluxPoint[]): Promise<void> {
    if (points.length === 0) return;
    let lines: string[];
    try {
      lines = points.map(pointLine);
    } catch (err) {
      throw new StoreWriteError(`influxdb2: unwritable point: ${(err as Error).message}`, false, 0, { cause: err });
    }
    let client: InfluxDB;
    try {
      client = (await this.connect()).client;
    } catch (err) {
      throw new StoreWriteError(`influxdb2: ${(err as Error).message}`, false, 0, { cause: err });
    }
    await retryWithBackoff(() => this.writeOnce(client, lines), {
      attempts: this.config.writeAttempts,
      initialDelayMs: this.config.retryInitialDelayMs,
    });
  }

  private async writeOnce(client: InfluxDB, lines: string[]): Promise<void> {
    const api: WriteApi = client.getWriteApi(this.config.org, this.config.bucket, 'ms', {
      batchSize: lines.length + 1,
      flushInterval: 0,
      maxRetries: 0,
      // Returning a rejected promise makes it the result of flush() instead of a console log.
      writeFailed: (error: Error) => Promise.reject(error),
    });
    try {
      api.writeRecords(lines);
      await api.flush();
    } catch (err) {
      throw toStoreWriteError('influxdb2 write', err, statusOf(err), lines.length);
    } finally {
      await api.close().catch(() => undefined);
    }
  }

  /** /api/v2/delete of a measurement's points before `beforeMs` (the layer's old marks; its stop is inclusive). */
  private async deleteBefore(measurement: string, beforeMs: number): Promise<void> {
    const { token } = await this.connect();
    const params = new URLSearchParams({ org: this.config.org, bucket: this.config.bucket });
    const res = await fetch(`${this.base}/api/v2/delete?${params}`, {
      method: 'POST',
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        start: new Date(0).toISOString(),
        stop: new Date(Math.trunc(beforeMs) - 1).toISOString(),
        predicate: `_measurement="${measurement}"`,
      }),
    });
    if (!res.ok) throw new Error(`influxdb2 /api/v2/delete ${measurement}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  }

  private readonly run = async (query: string): Promise<InfluxQLSeries[]> => {
    const { token } = await this.connect();
    const params = new URLSearchParams({ db: this.config.database ?? this.config.bucket, epoch: 'ms', q: query });
    const res = await fetch(`${this.base}/query`, {
      method: 'POST',
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: params,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`influxdb2 /query ${res.status}: ${text.slice(0, 500)}`);
    return seriesOf(JSON.parse(text) as unknown);
  };

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    await this.rollups.beforeRead();
    return this.rollups.luminaireEnergy(q);
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
    // Each write closes its own WriteApi; reads use fetch: nothing is left open but the layer's dirty rows.
    await this.rollups.close();
  }
}

/** The token from the config, or from the first line of tokenFile. */
async function readToken(config: InfluxDB2StoreConfig): Promise<string> {
  if (config.token !== undefined) return config.token;
  const path = config.tokenFile!;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`influxdb2 tokenFile ${path}: ${(err as Error).message}`, { cause: err });
  }
  const token = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (token === '') throw new Error(`influxdb2 tokenFile ${path}: the first line is empty`);
  return token;
}
