/**
 * The telemetry store interface, split by who uses it: ingest writes (StoreWriter), the dashboard
 * reads (StoreReader). Every backend implements both and passes the same contract suite.
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

/** What ingest needs: create the schema, write points, close. */
export interface StoreWriter {
  /** the backend's kind, e.g. 'embedded', 'influxdb1', 'influxdb2', 'memory' */
  readonly kind: string;
  /** Creates database/tables if missing. Idempotent. */
  init(): Promise<void>;
  /** Writes points; throws StoreWriteError. Rewriting the same series+ts overwrites (idempotent). */
  write(points: readonly Point[]): Promise<void>;
  close(): Promise<void>;
}

/** What the dashboard needs: energy and point counts over a time range. */
export interface StoreReader {
  readonly kind: string;
  /** Per-luminaire energy and lit hours over [from, to), sorted by municipality, gateway, luminaire. */
  luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]>;
  /** Number of points of a measurement in [from, to) — for checks and the dashboard. */
  countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number>;
  close(): Promise<void>;
}

/** A whole store: every backend implements both sides and passes the contract suite. */
export type TelemetryStore = StoreWriter & StoreReader;
