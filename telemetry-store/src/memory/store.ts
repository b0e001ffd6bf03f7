import { CounterAccumulator } from '../counter-deltas';
import { refusedPointsError, StoreWriteError, type RefusedPoint } from '../errors';
import { MEASUREMENTS, SERIES_KEY_TAGS, UNGROUPED } from '../measurements';
import type { EnergyQuery, LuminaireEnergy, Point, TelemetryStore } from '../types';
import { MemoryStoreConfigSchema, type MemoryStoreConfig } from './config';

type FieldType = 'number' | 'string' | 'boolean';

/** measurement → field name → the type that field was first written with */
type FieldTypes = Map<string, Map<string, FieldType>>;

/** The points of one store (or of every store sharing a name), keyed by measurement + series key + ts. */
interface Dataset {
  points: Map<string, Point>;
  /** each field keeps the type it was first written with, as an InfluxDB shard does */
  fieldTypes: FieldTypes;
}

/** Datasets of named memory stores, shared within the process. */
const NAMED = new Map<string, Dataset>();

/**
 * The in-memory backend: tests, demos, and a broker run with nothing to install. Same semantics as
 * the others: same series key + ts overwrites; energy from cumulative counters in time order, a drop
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

  constructor(config: Partial<MemoryStoreConfig> = {}) {
    this.config = MemoryStoreConfigSchema.parse({ ...config, kind: 'memory' });
    const fresh = (): Dataset => ({ points: new Map(), fieldTypes: new Map() });
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
    const keyed: Array<[string, Point]> = [];
    const refused: RefusedPoint[] = [];
    const newTypes: FieldTypes = new Map();
    const existing = this.data.points;
    let added = 0;
    const addedKeys = new Set<string>();
    for (let index = 0; index < points.length; index++) {
      const p = points[index]!;
      const problem = problemOf(p, this.data.fieldTypes, newTypes);
      if (problem !== undefined) {
        refused.push({ index, reason: problem });
        continue;
      }
      const key = seriesKey(p);
      keyed.push([key, p]);
      if (!existing.has(key) && !addedKeys.has(key)) {
        addedKeys.add(key);
        added++;
      }
    }
    if (existing.size + added > this.config.maxPoints) {
      // A full store is like a full disk: nothing is wrong with the points, room may come back.
      throw new StoreWriteError(`memory store full: ${existing.size} + ${added} points > maxPoints ${this.config.maxPoints}`, true);
    }
    for (const [measurement, fields] of newTypes) {
      const known = this.data.fieldTypes.get(measurement) ?? new Map<string, FieldType>();
      this.data.fieldTypes.set(measurement, known);
      for (const [name, type] of fields) if (!known.has(name)) known.set(name, type);
    }
    for (const [key, p] of keyed) existing.set(key, p);
    this.writtenPoints += keyed.length;
    if (refused.length > 0) throw refusedPointsError('memory store', points.length, refused);
  }

  /** Deletes every point (a test frees room in a full store); field types are kept, as a shard keeps them. */
  clear(): void {
    this.data.points.clear();
  }

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    this.check();
    const bySeries = new Map<string, Point[]>();
    for (const p of this.data.points.values()) {
      if (p.measurement !== 'luminaire' || p.ts < q.from || p.ts >= q.to) continue;
      if (q.municipality !== undefined && p.tags.municipality !== q.municipality) continue;
      if (q.gateway !== undefined && p.tags.gateway !== q.gateway) continue;
      const key = JSON.stringify(SERIES_KEY_TAGS.luminaire.map((t) => p.tags[t]));
      const list = bySeries.get(key) ?? [];
      bySeries.set(key, list);
      list.push(p);
    }
    const out: LuminaireEnergy[] = [];
    for (const list of bySeries.values()) {
      // One point per ts per series (writes overwrite), so sorting by ts gives the counters' order.
      list.sort((a, b) => a.ts - b.ts);
      const energy = new CounterAccumulator();
      const hours = new CounterAccumulator();
      for (const p of list) {
        energy.add(p.ts, numberOrNull(p.fields.activeEnergy));
        hours.add(p.ts, numberOrNull(p.fields.operatingHours));
      }
      const first = list[0]!;
      const last = list[list.length - 1]!;
      out.push({
        municipality: first.tags.municipality ?? '',
        gateway: first.tags.gateway ?? '',
        luminaire: first.tags.luminaire ?? '',
        group: last.tags.group || UNGROUPED,
        energyWh: energy.total,
        litHours: hours.total,
        points: list.length,
        firstTs: first.ts,
        lastTs: last.ts,
      });
    }
    return out.sort((a, b) => cmp(a.municipality, b.municipality) || cmp(a.gateway, b.gateway) || cmp(a.luminaire, b.luminaire));
  }

  async countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    this.check();
    let n = 0;
    for (const p of this.data.points.values()) if (p.measurement === measurement && p.ts >= from && p.ts < to) n += 1;
    return n;
  }

  async close(): Promise<void> {
    // Nothing to release; a named dataset stays for the next store opened with that name.
  }

  private check(): void {
    if (this.failing) throw new Error('memory store: simulated outage');
  }
}

/** Why the store cannot hold `p` (what the other backends refuse too), or undefined. Records the
 * types of fields not yet known in `inBatch`. */
function problemOf(p: Point, known: FieldTypes, inBatch: FieldTypes): string | undefined {
  if (!MEASUREMENTS.includes(p.measurement)) return `unknown measurement ${String(p.measurement)}`;
  if (!Number.isSafeInteger(p.ts)) return `point ts must be integer ms, got ${p.ts}`;
  for (const t of SERIES_KEY_TAGS[p.measurement]) if (typeof p.tags[t] !== 'string') return `${p.measurement} point without tag ${t}`;
  const knownTypes = known.get(p.measurement);
  let batchTypes = inBatch.get(p.measurement);
  // Checked before anything is recorded, so a refused point leaves no field type behind.
  for (const name in p.fields) {
    const value = p.fields[name];
    const type = typeof value;
    if (type === 'number' && !Number.isFinite(value)) return `${p.measurement}.${name}: non-finite value ${value}`;
    if (type !== 'number' && type !== 'string' && type !== 'boolean') return `${p.measurement}.${name}: unsupported value type ${type}`;
    const was = knownTypes?.get(name) ?? batchTypes?.get(name);
    if (was !== undefined && was !== type) return `${p.measurement}.${name}: ${type} value for a ${was} field (type conflict)`;
  }
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

/** measurement + series-key tags + ts, of a point problemOf accepted. NUL cannot be confused with
 * a tag's own characters unless a tag holds one; such (never valid) ids fall back to JSON. */
function seriesKey(p: Point): string {
  let key = p.measurement;
  for (const t of SERIES_KEY_TAGS[p.measurement]) {
    const v = p.tags[t] as string;
    if (v.includes('\u0000')) return JSON.stringify([p.measurement, ...SERIES_KEY_TAGS[p.measurement].map((x) => p.tags[x]), p.ts]);
    key += `\u0000${v}`;
  }
  return `${key}\u0000${p.ts}`;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
