/**
 * The telemetry store interface: every back end (InfluxDB 1.x, InfluxDB 2.x/3.x, embedded DuckDB)
 * implements it and passes the same contract suite.
 */

/** One point, InfluxDB-shaped. `ts` is ms since the epoch. Same measurement+tags+ts overwrites. */
export interface Point {
  measurement: 'luminaire' | 'ap' | 'event';
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  ts: number;
}

export interface EnergyQuery {
  /** inclusive, ms since epoch */
  from: number;
  /** exclusive, ms since epoch */
  to: number;
  municipality?: string;
  gateway?: string;
}

/**
 * Energy of one luminaire over a range, from its cumulative counters: sum of positive deltas of
 * activeEnergy (a drop is a counter reset: the new value counts from zero); likewise
 * operatingHours gives the hours lit. Order of arrival does not matter (points are read in time order).
 */
export interface LuminaireEnergy {
  municipality: string;
  gateway: string;
  luminaire: string;
  group: string;
  energyWh: number;
  litHours: number;
  points: number;
  firstTs: number;
  lastTs: number;
}

/** Typed write failure (Telegraf style): retryable ones go to retry/spool, others are dead-lettered. */
export class StoreWriteError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** points the store did accept before failing, when it can tell (partial write) */
    readonly acceptedPoints = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreWriteError';
  }
}

export interface TelemetryStore {
  /** e.g. 'embedded', 'influxdb1', 'influxdb2' */
  readonly kind: string;
  /** Creates database/tables if missing. Idempotent. */
  init(): Promise<void>;
  /** Writes points; throws StoreWriteError. Rewriting the same series+ts overwrites (idempotent). */
  write(points: readonly Point[]): Promise<void>;
  /** Per-luminaire energy and lit hours over [from, to). */
  luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]>;
  /** Number of points of a measurement in [from, to) — for checks and the dashboard. */
  countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number>;
  close(): Promise<void>;
}
