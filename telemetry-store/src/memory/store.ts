import { refusedPointsError, StoreWriteError, type RefusedPoint } from '../errors';
import { MEASUREMENTS, SERIES_KEY_TAGS } from '../measurements';
import { energyFromRollups } from '../rollups/energy';
import { type IndexedPoint, RollupMaintainer } from '../rollups/maintainer';
import { rowMatches } from '../rollups/reference';
import {
  type ApRow,
  compareRows,
  type LuminaireRow,
  type RolledMeasurement,
  type RollupRow,
  keyId,
  toApHour,
  toLuminaireHour,
} from '../rollups/rows';
import type { ApHour, EnergyQuery, HourQuery, LuminaireEnergy, LuminaireHour, Point, TelemetryStore } from '../types';
import { MemoryStoreConfigSchema, type MemoryStoreConfig } from './config';
import { PointIndex } from './point-index';
import { MemoryRollupStorage } from './rollup-storage';

type FieldType = 'number' | 'string' | 'boolean';

/** measurement → field name → the type that field was first written with */
type FieldTypes = Map<string, Map<string, FieldType>>;

/** The points of one store (or of every store sharing a name), by measurement + series key, then ts. */
export interface Dataset {
  points: PointIndex;
  /** each field keeps the type it was first written with, as an InfluxDB shard does */
  fieldTypes: FieldTypes;
  /** hourly rollups: `measurement|series id` → hourStart → row */
  rows: Map<string, Map<number, RollupRow>>;
  /** keeps `rows` and refuses conflicting duplicates (../rollups/maintainer.ts) */
  maintainer: RollupMaintainer;
}

/** Datasets of named memory stores, shared within the process. */
const NAMED = new Map<string, Dataset>();

/**
 * The in-memory backend: tests, demos, and a broker run with nothing to install. Same semantics as
 * the others: an identical rewrite is a no-op and a conflicting duplicate is refused; hourly rollups
 * kept as data arrives by the shared RollupMaintainer, energy read from them; from cumulative counters in time order, a drop
 * counts the new value from zero (../counter-deltas.ts); an unusable point (bad key, non-finite
 * number, a field type conflict) is refused alone: the others are written and a PartialWriteError
 * names the refused indices. A full store (maxPoints) is retryable, like a full disk.
 * `failing = true` makes every call reject as if the store were down (writes with a retryable
 * StoreWriteError) and `failNextWrites = n` fails the next n writes, so callers' outage paths can be tested.
 */
export class MemoryStore implements TelemetryStore {
  readonly kind = 'memory';
  /** while true every call rejects, as a store that is down would */
  failing = false;
  /** the next this-many writes reject with a retryable StoreWriteError (a store restarting), then writes succeed */
  failNextWrites = 0;
  /** points accepted by write() since this handle was created (overwrites included) */
  writtenPoints = 0;
  private readonly config: MemoryStoreConfig;
  private readonly data: Dataset;
  /** per measurement, the fields (names in order, types) of a point whose every field type was already stored (see problemOf) */
  private readonly shapes = new Map<string, FieldShape>();

  constructor(config: Partial<MemoryStoreConfig> = {}) {
    this.config = MemoryStoreConfigSchema.parse({ ...config, kind: 'memory' });
    const fresh = (): Dataset => {
      const data: Omit<Dataset, 'maintainer'> = { points: new PointIndex(), fieldTypes: new Map(), rows: new Map() };
      return { ...data, maintainer: new RollupMaintainer(new MemoryRollupStorage(data)) };
    };
    const name = this.config.name;
    if (name === undefined) this.data = fresh();
    else {
      const shared = NAMED.get(name) ?? fresh();
      NAMED.set(name, shared);
      this.data = shared;
    }
  }

  async init(): Promise<void> {
    this.check();
  }

  async write(points: readonly Point[]): Promise<void> {
    if (this.failing) throw new StoreWriteError('memory store: simulated outage', true);
    if (this.failNextWrites > 0) {
      this.failNextWrites--;
      throw new StoreWriteError('memory store: simulated write failure (failNextWrites)', true);
    }
    // Validate everything first: the good points are written, each bad one is refused alone.
    // This is the hot path of every broker benchmark and test run, hence plain loops and one
    // string key per point.
    const valid: IndexedPoint[] = [];
    const refused: RefusedPoint[] = [];
    const newTypes: FieldTypes = new Map();
    for (let index = 0; index < points.length; index++) {
      const point = points[index]!;
      const problem = problemOf(point, this.data.fieldTypes, newTypes, this.shapes);
      if (problem !== undefined) refused.push({ index, reason: problem });
      else valid.push({ index, point });
    }
    // Identical copies and conflicting duplicates are sorted out here, rollup rows planned.
    const plan = await this.data.maintainer.plan(valid);
    const existing = this.data.points;
    if (existing.size + plan.points.length > this.config.maxPoints) {
      // A full store is like a full disk: nothing is wrong with the points, room may come back.
      throw new StoreWriteError(
        `memory store full: ${existing.size} + ${plan.points.length} points > maxPoints ${this.config.maxPoints}`,
        true,
      );
    }
    for (const [measurement, fields] of newTypes) {
      const known = this.data.fieldTypes.get(measurement) ?? new Map<string, FieldType>();
      this.data.fieldTypes.set(measurement, known);
      for (const [name, type] of fields) if (!known.has(name)) known.set(name, type);
    }
    for (const p of plan.points) existing.put(p);
    for (const { measurement, row } of plan.rows) {
      const k = `${measurement}|${keyId(row.key)}`;
      const series = this.data.rows.get(k) ?? new Map<number, RollupRow>();
      this.data.rows.set(k, series);
      series.set(row.hourStart, row);
    }
    plan.commit();
    this.writtenPoints += valid.length - plan.conflicts.length;
    const all = plan.conflicts.length === 0 ? refused : [...refused, ...plan.conflicts].sort((x, y) => x.index - y.index);
    if (all.length > 0) throw refusedPointsError('memory store', points.length, all);
  }

  /** Deletes every point (a test frees room in a full store); field types are kept, as a shard keeps them. */
  clear(): void {
    this.data.points.clear();
    this.data.rows.clear();
    this.data.maintainer.reset();
  }

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    this.check();
    // municipality and gateway are series-key tags: a series' first point speaks for all of it.
    const ofSeries = (hq: HourQuery) => (p: Point) =>
      (hq.municipality === undefined || p.tags.municipality === hq.municipality) &&
      (hq.gateway === undefined || p.tags.gateway === hq.gateway);
    return energyFromRollups(
      {
        luminaireRows: async (hq) => this.rowsOf('luminaire', hq) as LuminaireRow[],
        luminairePoints: async (hq) => this.data.points.select('luminaire', hq.from, hq.to, ofSeries(hq)),
      },
      q,
    );
  }

  async luminaireHours(q: HourQuery): Promise<LuminaireHour[]> {
    this.check();
    return (this.rowsOf('luminaire', q) as LuminaireRow[]).map(toLuminaireHour);
  }

  async apHours(q: HourQuery): Promise<ApHour[]> {
    this.check();
    return (this.rowsOf('ap', q) as ApRow[]).map(toApHour);
  }

  private rowsOf(m: RolledMeasurement, q: HourQuery): RollupRow[] {
    const out: RollupRow[] = [];
    for (const [k, series] of this.data.rows) {
      if (!k.startsWith(`${m}|`)) continue;
      for (const row of series.values()) if (rowMatches(m, row, q)) out.push(row);
    }
    return out.sort(compareRows);
  }

  async countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    this.check();
    return this.data.points.count(measurement, from, to);
  }

  async close(): Promise<void> {
    // Nothing to release; a named dataset stays for the next store opened with that name.
  }

  private check(): void {
    if (this.failing) throw new Error('memory store: simulated outage');
  }
}

const KNOWN_MEASUREMENTS: ReadonlySet<string> = new Set(MEASUREMENTS);

/** The fields of a point: names in enumeration order, and each one's type. */
interface FieldShape {
  names: string[];
  types: string[];
}

/** Whether `p`'s fields are exactly `shape` (same names, same order, same types) and all finite; a string when one is not finite. */
function matchesShape(p: Point, shape: FieldShape): boolean | string {
  let i = 0;
  for (const name in p.fields) {
    const value = p.fields[name];
    const type = typeof value;
    if (name !== shape.names[i] || type !== shape.types[i]) return false;
    if (type === 'number' && !Number.isFinite(value)) return `${p.measurement}.${name}: non-finite value ${value}`;
    i++;
  }
  return i === shape.names.length;
}

/** Why the store cannot hold `p` (what the other backends refuse too), or undefined. Records the
 * types of fields not yet known in `inBatch`. This runs for every point ingest writes: a point
 * whose fields are those of `shapes` (the last point of its measurement whose field types were all
 * already stored — types never change once stored) is checked with no lookup; otherwise one map
 * lookup per field. */
function problemOf(p: Point, known: FieldTypes, inBatch: FieldTypes, shapes: Map<string, FieldShape>): string | undefined {
  if (!KNOWN_MEASUREMENTS.has(p.measurement)) return `unknown measurement ${String(p.measurement)}`;
  if (!Number.isSafeInteger(p.ts)) return `point ts must be integer ms, got ${p.ts}`;
  const tags = SERIES_KEY_TAGS[p.measurement];
  for (let i = 0; i < tags.length; i++) if (typeof p.tags[tags[i]!] !== 'string') return `${p.measurement} point without tag ${tags[i]}`;
  const shape = shapes.get(p.measurement);
  if (shape !== undefined) {
    const match = matchesShape(p, shape);
    if (match === true) return undefined;
    if (typeof match === 'string') return match;
  }
  const knownTypes = known.get(p.measurement);
  let batchTypes = inBatch.get(p.measurement);
  let unknownNames = false;
  let allStored = true;
  // Checked before anything is recorded, so a refused point leaves no field type behind.
  for (const name in p.fields) {
    const value = p.fields[name];
    const type = typeof value;
    if (type === 'number') {
      if (!Number.isFinite(value)) return `${p.measurement}.${name}: non-finite value ${value}`;
    } else if (type !== 'string' && type !== 'boolean') return `${p.measurement}.${name}: unsupported value type ${type}`;
    let was = knownTypes?.get(name);
    if (was === undefined) {
      allStored = false;
      was = batchTypes?.get(name);
      if (was === undefined) unknownNames = true;
    }
    if (was !== undefined && was !== type) return `${p.measurement}.${name}: ${type} value for a ${was} field (type conflict)`;
  }
  if (allStored) {
    // Only stored types make a shape: a type first seen in this batch is not stored if the write fails.
    const names: string[] = [];
    const types: string[] = [];
    for (const name in p.fields) {
      names.push(name);
      types.push(typeof p.fields[name]);
    }
    shapes.set(p.measurement, { names, types });
    return undefined;
  }
  if (!unknownNames) return undefined;
  for (const name in p.fields) {
    if (knownTypes?.has(name) || batchTypes?.has(name)) continue;
    if (batchTypes === undefined) {
      batchTypes = new Map();
      inBatch.set(p.measurement, batchTypes);
    }
    batchTypes.set(name, typeof p.fields[name] as FieldType);
  }
  return undefined;
}
