/**
 * The telemetry store interface, split by who uses it: ingest writes (StoreWriter), the dashboard
 * reads (StoreReader). Every backend implements both and passes the same contract suite.
 */

/**
 * One point, InfluxDB-shaped. `ts` is ms since the epoch. A point is identified by its measurement,
 * series-key tags (SERIES_KEY_TAGS) and ts: writing an identical point again is a no-op (delivery
 * retries rely on it); a point with the same identity and any other value is a conflicting
 * duplicate, refused (PartialWriteError, reason starting `conflicting duplicate`) — the first
 * written stays.
 */
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
 * Energy of one luminaire over a range, from its cumulative counters, read from the hourly rollups
 * (LuminaireHour) when the range is whole hours. Each reading contributes the reset-aware delta from
 * the series' previous reading (a drop is a counter reset: the new value counts from zero), even
 * when that previous reading lies before the range; the very first reading of a series contributes
 * nothing. So the energy of [a, b) plus that of [b, c) is the energy of [a, c), whatever the order
 * of arrival. Likewise operatingHours gives the hours lit.
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

/** Filters of the hourly rollup reads. Hours are UTC and whole: [from, to) selects the hours whose start is in it. */
export interface HourQuery {
  /** inclusive, ms since epoch (an hour start is in range when hourStart ≥ from) */
  from: number;
  /** exclusive, ms since epoch */
  to: number;
  municipality?: string;
  gateway?: string;
  /** one luminaire (luminaireHours) or one AP (apHours) */
  device?: string;
}

/** Status values a luminaire reported in one hour, with how many readings carried each. */
export type StatusCounts = Record<string, number>;

/**
 * One luminaire's hour (UTC), maintained as data arrives, equal to a recomputation from its raw
 * readings: energyWh and litHours are the sums of the reset-aware counter deltas of the readings
 * whose ts is in [hourStart, hourStart + 1 h), each from the series' previous reading (which may
 * lie in an earlier hour: a late reading recomputes the hours it touches).
 */
export interface LuminaireHour {
  /** ms since epoch, a multiple of 3,600,000 (UTC hour) */
  hourStart: number;
  municipality: string;
  gateway: string;
  luminaire: string;
  /** the group of the hour's last reading */
  group: string;
  energyWh: number;
  litHours: number;
  readings: number;
  statusCounts: StatusCounts;
}

/** Per traffic class, as the protocol's AP reading names them. */
export interface PerClass {
  household: number;
  public: number;
  telemedicine: number;
}

/** One access point's hour (UTC): bytes per class from reset-aware counter deltas (as energy), clients. */
export interface ApHour {
  hourStart: number;
  municipality: string;
  gateway: string;
  ap: string;
  /** bytes carried per class in the hour */
  bytes: PerClass;
  /** associated clients (all classes): the most at any reading, and the mean over the hour's readings */
  clients: { max: number; avg: number };
  /** mean associated clients per class over the hour's readings */
  clientsAvg: PerClass;
  /** mean uplink capacity (kbit/s) over the hour's readings */
  capacityKbpsAvg: number;
  readings: number;
  /** telemedicine sessions started in the hour (reset-aware delta of the AP's since-boot count; 0 from APs that do not report it) */
  telemedicineSessions: number;
  /**
   * Seconds of the hour in which the AP measured the household class, and in which the household
   * got its demand or at least its reserve (reset-aware deltas; 0 from APs that do not report them)
   */
  reserve: { measuredS: number; honouredS: number };
}

/** What ingest needs: create the schema, write points, close. */
export interface StoreWriter {
  /** the backend's kind, e.g. 'embedded', 'influxdb1', 'influxdb2', 'memory' */
  readonly kind: string;
  /** Creates database/tables if missing. Idempotent. */
  init(): Promise<void>;
  /**
   * Writes points; throws StoreWriteError. Rewriting an identical point is a no-op (idempotent);
   * a conflicting duplicate (same series + ts, other value) is refused alone (PartialWriteError).
   */
  write(points: readonly Point[]): Promise<void>;
  close(): Promise<void>;
}

/** What the dashboard needs: energy and point counts over a time range. */
export interface StoreReader {
  readonly kind: string;
  /** Per-luminaire energy and lit hours over [from, to), sorted by municipality, gateway, luminaire. */
  luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]>;
  /** Hourly per-luminaire rollups, sorted by hourStart, municipality, gateway, luminaire. */
  luminaireHours(q: HourQuery): Promise<LuminaireHour[]>;
  /** Hourly per-AP rollups, sorted by hourStart, municipality, gateway, ap. */
  apHours(q: HourQuery): Promise<ApHour[]>;
  /** Number of points of a measurement in [from, to) — for checks and the dashboard. */
  countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number>;
  /**
   * Optional: the savings sums per gateway and per group over [from, to), for stores that keep
   * them coarser than the luminaire (InfluxDB: ../influxql/cell-tier.ts). Each figure equals what
   * the luminaire rows give (a luminaire counted once, under its latest group); undefined when the
   * store cannot answer this range so (the caller reads luminaireEnergy).
   */
  energyCells?(q: EnergyCellQuery, baselines: BaselineSource): Promise<EnergyCells | undefined>;
  /**
   * Optional, with energyCells: the whole days of [from, to) whose sums of `municipality` are not
   * kept current under these baselines (a read would compute them from the hour rows), for a
   * builder that keeps them ahead of the reads (dashboard-api's pack-builder.ts).
   */
  staleCellDays?(q: { municipality: string; from: number; to: number }, baselines: BaselineSource): Promise<StaleCellDays>;
  /**
   * Optional, with staleCellDays: writes the per-day lists of the programme's municipalities a
   * programme-wide energyCells read needs to use per-municipality sums, for the closed days of
   * [from, to) that lack a current one; resolves to the number of days written.
   */
  packCellDirectories?(q: { from: number; to: number }, baselines: BaselineSource): Promise<number>;
  /** Optional, with energyCells: how its reads were answered since the store opened. */
  energyCellStats?(): Readonly<EnergyCellStats>;
  close(): Promise<void>;
}

export interface StaleCellDays {
  /** whole days (their starts) without current sums, oldest first */
  stale: number[];
  /** the aligned windows of whole days inside the range a read of which keeps its blocks of days too */
  blockWindows: Array<[number, number]>;
}

export interface EnergyCellStats {
  /** municipality-days read from packs */
  packDays: number;
  /** municipality-days summed from the hour rollups (the slow path) */
  summedDays: number;
  packsWritten: number;
  blocksRead: number;
  blocksWritten: number;
}

export interface EnergyCellQuery {
  from: number;
  to: number;
  municipality?: string;
  /** false: read day by day, ignoring kept sums of several days (a pack builder, which must make every day's own) */
  useBlocks?: boolean;
}

/** The pre-retrofit lamp power the savings are figured against, as the reader's inventory has it. */
export interface BaselineSource {
  /** changes whenever any baseline may have: sums kept under another version are not used */
  readonly version: string;
  /** whether luminaires tagged with this municipality are figured with baselines (else they come back as rows) */
  assigns(municipality: string): boolean;
  /** a luminaire's baseline W (of an assigned municipality) */
  wattsOf(municipality: string, luminaire: string): number | undefined;
}

/** The terms the savings figures are linear in, summed over some luminaires. */
export interface CellSums {
  luminaires: number;
  energyWh: number;
  litHours: number;
  /** Σ baseline W */
  baselineW: number;
  /** Σ baseline W × lit hours */
  baselineWh: number;
}

export interface EnergyCells {
  byGateway: Array<CellSums & { municipality: string; gateway: string }>;
  byGroup: Array<CellSums & { municipality: string; group: string }>;
  /** luminaire rows of the municipalities not summed into cells (membership changed within the range, or not assigned) */
  rows: LuminaireEnergy[];
}

/** A whole store: every backend implements both sides and passes the contract suite. */
export type TelemetryStore = StoreWriter & StoreReader;
