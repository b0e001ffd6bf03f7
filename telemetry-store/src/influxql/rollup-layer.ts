import { PartialWriteError, refusedPointsError, StoreWriteError, type RefusedPoint } from '../errors';
import { MEASUREMENTS, SERIES_KEY_TAGS } from '../measurements';
import { energyFromRollups } from '../rollups/energy';
import { type IndexedPoint, RollupMaintainer, type RollupStorage, type WritePlan } from '../rollups/maintainer';
import {
  type ApRow,
  type LuminaireRow,
  type RolledMeasurement,
  type RollupRow,
  compareRows,
  keyId,
  toApHour,
  toLuminaireHour,
} from '../rollups/rows';
import type { ApHour, EnergyQuery, HourQuery, LuminaireEnergy, LuminaireHour, Point } from '../types';
import { type RunInfluxQL, stringLiteral } from './reads';
import { pointFromRecord, recordsOf } from './records';
import { ROLLUP_MEASUREMENT, rowFromRecord, rowToPoint } from './rollup-points';

/** Candidate points per existence query (an OR of their series, over their time span). */
const LOOKUP_CHUNK = 200;

/** A point as the InfluxDB backends write it (rollup points have their own measurement names). */
export type InfluxPoint = Omit<Point, 'measurement'> & { measurement: string };

/**
 * Store writes whose HTTP requests may overlap: two let influxd use both cores (ingest measured
 * 0.66× raw line protocol with two, 0.49× with one, when every request still carried its rows;
 * not yet re-measured on a quiet machine with the rows ordered). Safe since the rollup rows of
 * overlapping writes are sent one request at a time in plan order (sendPlan): influxd applies
 * concurrent requests in any order, and an older version of a row applied last had left rollups
 * below the raw points (the 5.2–5.5 % of the uplink-cut and agent-SIGKILL fault tests).
 * rollup-layer.property.test.ts checks it.
 */
const WRITES_IN_FLIGHT = 2;

/** Series and hours whose rollup rows must be recomputed from raw, keyed like the maintainer's series. */
type RepairSet = Map<string, { m: RolledMeasurement; key: readonly string[]; hours: Set<number> }>;

/**
 * Hourly rollups and duplicate refusal for the InfluxDB backends, written by the store itself
 * ("ingest-side" rollup points, see influxdb1/README.md for why not continuous queries): each
 * write is planned by the shared RollupMaintainer — new raw points plus the rollup points of the
 * hours they change — sent in one request when no other write's rows are under way.
 *
 * Planning is serialised (in memory and quick), the requests are not: a plan is committed to the
 * maintainer as soon as it is made, so the next batch is planned on top of it while its request is
 * in flight (up to WRITES_IN_FLIGHT at once). Rows, unlike raw points, are rewritten as data
 * arrives, so requests carrying rows go one at a time in plan order (a later plan's raw points go
 * at once, its rows after; see sendPlan). A plan that must read the store (late readings, possible
 * duplicates) first waits for every write in flight, so it reads what they wrote, and its points
 * and rows go together. When a request fails, the writes planned on top of it may have stored rows
 * counting its readings: once everything in flight has settled, the layer reloads each series'
 * latest row and recomputes the failed plan's hours from raw before planning anything else.
 * Rows are written whole, chain values that became unknown included (rollup-points.ts), since
 * InfluxDB merges a rewritten point's fields into the stored ones.
 */
export class InfluxRollupLayer {
  private readonly maintainer: RollupMaintainer;
  private tail: Promise<unknown> = Promise.resolve();
  private loaded: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly repair: RepairSet = new Map();
  /** requests carrying rollup rows, sent or waiting; they are sent one at a time, in plan order */
  private rowRequestsPending = 0;
  private rowsTail: Promise<void> = Promise.resolve();

  constructor(
    private readonly run: RunInfluxQL,
    private readonly send: (points: readonly InfluxPoint[]) => Promise<void>,
    /** requests under way at once; its test runs the overlap (and its repair) with 2 */
    private readonly writesInFlight = WRITES_IN_FLIGHT,
  ) {
    this.maintainer = new RollupMaintainer(new InfluxQLRollupStorage(run));
  }

  write(points: readonly Point[]): Promise<void> {
    // The planning step resolves once the request is sent; the write resolves when it is answered.
    const started = this.tail.then(() => this.planAndSend(points));
    this.tail = started.catch(() => undefined);
    return started.then((s) => s.done);
  }

  /**
   * Resolves once every write made before has finished — its raw points and rollup rows written —
   * and any repair they left is done (tests, and a store that closes).
   */
  async settled(): Promise<void> {
    for (;;) {
      await this.write([]);
      await this.drain();
      if (this.loaded && this.repair.size === 0 && this.inFlight.size === 0) return;
    }
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async planAndSend(points: readonly Point[]): Promise<{ done: Promise<void> }> {
    const refused: RefusedPoint[] = [];
    const valid: IndexedPoint[] = [];
    let plan: Awaited<ReturnType<RollupMaintainer['plan']>>;
    try {
      if (!this.loaded || this.repair.size > 0) {
        await this.drain();
        await this.reloadAndRepair();
      }
      // Field types are InfluxDB's to check (per shard: a type conflict in last month's shard is
      // none in this week's), so it can drop a point the plan counted: see below.
      points.forEach((point, index) => {
        const problem = keyProblem(point);
        if (problem) refused.push({ index, reason: problem });
        else valid.push({ index, point });
      });
      if (this.maintainer.readsStore(valid)) await this.drain();
      while (this.inFlight.size >= this.writesInFlight) await Promise.race(this.inFlight);
      // A request that failed meanwhile: plan nothing on top of it.
      if (!this.loaded || this.repair.size > 0) {
        await this.drain();
        await this.reloadAndRepair();
      }
      plan = await this.maintainer.plan(valid);
    } catch (err) {
      // Reading the store failed: it is down or unreachable, nothing is wrong with the points.
      if (err instanceof StoreWriteError) throw err;
      throw new StoreWriteError(`influx: reading before the write failed: ${(err as Error).message}`, true, 0, { cause: err });
    }
    plan.commit();
    const done = this.sendPlan(points.length, plan, refused);
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return { done };
  }

  /**
   * Sends a committed plan. Its rows go in the same request as its raw points when no other
   * request carrying rows is under way or waiting; otherwise the raw points go now and the rows
   * in a request of their own once every rows request planned before has been answered. Why:
   * influxd applies concurrent requests in no set order, and rollup rows are rewritten whole — a
   * row of the same series and hour planned earlier (fewer readings) applied after the later one
   * would stand, below the raw points, with nothing to repair it (every request succeeded).
   * Serialising only the rows keeps them applied in plan order while raw points still overlap.
   */
  private sendPlan(total: number, plan: WritePlan, refused: RefusedPoint[]): Promise<void> {
    const rows = plan.rows.map(({ measurement, row }) => rowToPoint(measurement, row));
    let raw: Promise<void>;
    let rowsDone: Promise<void> = Promise.resolve();
    if (rows.length === 0 || this.rowRequestsPending === 0) {
      raw = this.request([...plan.points, ...rows], rows.length > 0);
    } else {
      raw = plan.points.length > 0 ? this.request(plan.points, false) : Promise.resolve();
      let rawFailed = false;
      raw.catch(() => {
        rawFailed = true;
      });
      // Rows counting readings whose request failed are not sent: the repair recomputes those hours.
      rowsDone = this.requestAfterRows(() => (rawFailed ? Promise.resolve() : this.send(rows)));
    }
    return Promise.allSettled([raw, rowsDone]).then(([r, w]) => {
      if (r.status === 'rejected' || w.status === 'rejected') {
        // The plan was committed: whatever was planned on top of it may count its readings.
        this.markForRepair(plan);
        this.loaded = undefined;
      }
      if (r.status === 'rejected') {
        const err: unknown = r.reason;
        if (!(err instanceof PartialWriteError)) throw err;
        // InfluxDB dropped some points we could not foresee: the rollups it got may count them too.
        const notWritten = err.refused;
        throw new PartialWriteError(
          err.message,
          { written: Math.max(0, plan.points.length - notWritten), refused: total - Math.max(0, plan.points.length - notWritten) },
          { cause: err },
        );
      }
      if (w.status === 'rejected') {
        const err: unknown = w.reason;
        // The raw points are stored, their rows are not (yet): a retry finds them stored, after the repair.
        throw new StoreWriteError(`influx: rollup rows not written: ${(err as Error).message}`, true, 0, { cause: err });
      }
      const all = [...refused, ...plan.conflicts].sort((a, b) => a.index - b.index);
      if (all.length > 0) throw refusedPointsError('influx', total, all);
    });
  }

  /** One request; `withRows`: it carries rollup rows, so later rows wait for its answer. */
  private request(points: readonly InfluxPoint[], withRows: boolean): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    return withRows ? this.requestAfterRows(() => this.send(points)) : this.send(points);
  }

  /** Runs `sendRows` once every rows request before it has been answered (rows applied in plan order). */
  private requestAfterRows(sendRows: () => Promise<void>): Promise<void> {
    this.rowRequestsPending++;
    const sent = this.rowsTail.then(sendRows);
    // Counted down in the first callback on `sent`, before the write it belongs to settles: a plan
    // made after a drain then sees no rows request pending and sends its rows with its points.
    const answered = sent.then(
      () => {
        this.rowRequestsPending--;
      },
      () => {
        this.rowRequestsPending--;
      },
    );
    this.rowsTail = answered;
    return sent;
  }

  private markForRepair(plan: WritePlan): void {
    for (const { measurement, row } of plan.rows) {
      const k = `${measurement}|${keyId(row.key)}`;
      const entry = this.repair.get(k) ?? { m: measurement, key: row.key, hours: new Set<number>() };
      this.repair.set(k, entry);
      entry.hours.add(row.hourStart);
    }
  }

  /** With nothing in flight: each series' latest row from what was really written, then the repairs. */
  private async reloadAndRepair(): Promise<void> {
    if (!this.loaded) {
      const attempt = this.maintainer.load();
      this.loaded = attempt;
      attempt.catch(() => {
        if (this.loaded === attempt) this.loaded = undefined;
      });
    }
    await this.loaded;
    if (this.repair.size === 0) return;
    const plan = await this.maintainer.planRepair(this.repair);
    if (plan.rows.length > 0) await this.send(plan.rows.map(({ measurement, row }) => rowToPoint(measurement, row)));
    plan.commit();
    this.repair.clear();
  }

  async luminaireHours(q: HourQuery): Promise<LuminaireHour[]> {
    return ((await this.rows('luminaire', q)) as LuminaireRow[]).map(toLuminaireHour);
  }

  async apHours(q: HourQuery): Promise<ApHour[]> {
    return ((await this.rows('ap', q)) as ApRow[]).map(toApHour);
  }

  luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    return energyFromRollups(
      {
        luminaireRows: (hq) => this.rows('luminaire', hq) as Promise<LuminaireRow[]>,
        // One statement: sums and the group of each luminaire's latest hour (last() of a field) come
        // back together; two statements cost twice InfluxDB's per-series overhead (measured by
        // `npm run bench -- store-reads`).
        luminaireSums: async (hq) => {
          const series = await this.run(
            `SELECT sum("d0") AS "d0", sum("d1") AS "d1", sum("readings") AS "readings", min("first_ts") AS "first_ts", ` +
              `max("last_ts") AS "last_ts", last("grp") AS "grp" FROM "${ROLLUP_MEASUREMENT.luminaire}" WHERE ${where('luminaire', hq)} GROUP BY ${groupBy('luminaire')}`,
          );
          return recordsOf(series).map((o) => rowFromRecord('luminaire', o) as LuminaireRow);
        },
        luminairePoints: async (hq) =>
          recordsOf(await this.run(`SELECT * FROM "luminaire" WHERE ${where('luminaire', hq, false)}`)).map((o) =>
            pointFromRecord('luminaire', o),
          ),
      },
      q,
    );
  }

  private async rows(m: RolledMeasurement, q: HourQuery): Promise<RollupRow[]> {
    const series = await this.run(`SELECT * FROM "${ROLLUP_MEASUREMENT[m]}" WHERE ${where(m, q)} GROUP BY ${groupBy(m)}`);
    return recordsOf(series)
      .map((o) => rowFromRecord(m, o))
      .sort(compareRows);
  }
}

function groupBy(m: RolledMeasurement): string {
  return SERIES_KEY_TAGS[m].map((t) => `"${t}"`).join(', ');
}

/** WHERE of a read: time in [from, to), the filters (device only on rollups, where it is the last key tag). */
function where(m: RolledMeasurement, q: HourQuery, withDevice = true): string {
  const parts = [`time >= ${Math.trunc(q.from)}ms`, `time < ${Math.trunc(q.to)}ms`];
  if (q.municipality !== undefined) parts.push(`"municipality" = ${stringLiteral(q.municipality)}`);
  if (q.gateway !== undefined) parts.push(`"gateway" = ${stringLiteral(q.gateway)}`);
  if (withDevice && q.device !== undefined) parts.push(`"${SERIES_KEY_TAGS[m][2]}" = ${stringLiteral(q.device)}`);
  return parts.join(' AND ');
}

/** What InfluxDB would refuse or mangle in a point's identity (the rest it checks itself). */
function keyProblem(p: Point): string | undefined {
  if (!MEASUREMENTS.includes(p.measurement)) return `unknown measurement ${String(p.measurement)}`;
  if (!Number.isSafeInteger(p.ts)) return `point ts must be integer ms, got ${p.ts}`;
  for (const t of SERIES_KEY_TAGS[p.measurement])
    if (typeof p.tags[t] !== 'string' || p.tags[t] === '') return `${p.measurement} point without tag ${t}`;
  return undefined;
}

/** The maintainer's reads through InfluxQL (late readings and possible duplicates only). */
class InfluxQLRollupStorage implements RollupStorage {
  constructor(private readonly run: RunInfluxQL) {}

  async latestRows(m: RolledMeasurement): Promise<RollupRow[]> {
    const series = await this.run(`SELECT * FROM "${ROLLUP_MEASUREMENT[m]}" GROUP BY ${groupBy(m)} ORDER BY time DESC LIMIT 1`);
    return recordsOf(series).map((o) => rowFromRecord(m, o));
  }

  rowBefore(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    return this.oneRow(m, key, `time < ${hour}ms`, 'DESC');
  }

  rowAfter(m: RolledMeasurement, key: readonly string[], hour: number): Promise<RollupRow | undefined> {
    return this.oneRow(m, key, `time > ${hour}ms`, 'ASC');
  }

  private async oneRow(m: RolledMeasurement, key: readonly string[], time: string, order: 'ASC' | 'DESC'): Promise<RollupRow | undefined> {
    const series = await this.run(
      `SELECT * FROM "${ROLLUP_MEASUREMENT[m]}" WHERE ${keyWhere(m, key)} AND ${time} GROUP BY ${groupBy(m)} ORDER BY time ${order} LIMIT 1`,
    );
    const o = recordsOf(series)[0];
    return o ? rowFromRecord(m, o) : undefined;
  }

  async seriesPoints(m: RolledMeasurement, key: readonly string[], from: number, to: number): Promise<Point[]> {
    const series = await this.run(`SELECT * FROM "${m}" WHERE ${keyWhere(m, key)} AND time >= ${from}ms AND time < ${to}ms`);
    return recordsOf(series).map((o) => pointFromRecord(m, o));
  }

  async existing(points: readonly Point[]): Promise<Point[]> {
    const out: Point[] = [];
    const byMeasurement = new Map<Point['measurement'], Point[]>();
    for (const p of points) byMeasurement.set(p.measurement, [...(byMeasurement.get(p.measurement) ?? []), p]);
    for (const [m, list] of byMeasurement) {
      for (let i = 0; i < list.length; i += LOOKUP_CHUNK) {
        const chunk = list.slice(i, i + LOOKUP_CHUNK);
        const wanted = new Set(chunk.map((p) => identityOf(m, p)));
        const keys = [
          ...new Set(
            chunk.map((p) =>
              keyWhere(
                m,
                SERIES_KEY_TAGS[m].map((t) => p.tags[t] ?? ''),
              ),
            ),
          ),
        ];
        const lo = Math.min(...chunk.map((p) => p.ts));
        const hi = Math.max(...chunk.map((p) => p.ts));
        const series = await this.run(
          `SELECT * FROM "${m}" WHERE (${keys.map((k) => `(${k})`).join(' OR ')}) AND time >= ${lo}ms AND time <= ${hi}ms`,
        );
        for (const o of recordsOf(series)) {
          const p = pointFromRecord(m, o);
          if (wanted.has(identityOf(m, p))) out.push(p);
        }
      }
    }
    return out;
  }
}

function keyWhere(m: Point['measurement'], key: readonly string[]): string {
  return SERIES_KEY_TAGS[m].map((t, i) => `"${t}" = ${stringLiteral(key[i] ?? '')}`).join(' AND ');
}

function identityOf(m: Point['measurement'], p: Point): string {
  return JSON.stringify([...SERIES_KEY_TAGS[m].map((t) => p.tags[t]), p.ts]);
}
