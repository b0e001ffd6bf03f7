import { energyFromRollups } from '../rollups/energy';
import { type ApRow, type LuminaireRow, type RolledMeasurement, type RollupRow, compareRows, toApHour } from '../rollups/rows';
import { SERIES_KEY_TAGS } from '../measurements';
import type { ApHour, EnergyQuery, HourQuery, LuminaireEnergy, LuminaireHour, Point } from '../types';
import { LUMINAIRE_HOUR_FIELDS, luminaireHoursOf } from './hour-reads';
import type { InfluxPoint } from './pending-marks';
import { type RunInfluxQL, stringLiteral } from './reads';
import { pointFromRecord, recordsOf } from './records';
import { ROLLUP_MEASUREMENT, rowFromRecord } from './rollup-points';
import { groupBy } from './rollup-storage';
import { CoalescedRollupWriter, type RollupWriterOptions } from './rollup-writer';

export type { InfluxPoint } from './pending-marks';
export type { PlannedRow, RollupWriterOptions } from './rollup-writer';

/**
 * Hourly rollups and duplicate refusal for the InfluxDB backends, written by the store itself
 * ("ingest-side" rollup points, see influxdb1/README.md for why not continuous queries). Writes go
 * through CoalescedRollupWriter (rollup-writer.ts): raw points are written at once, each
 * series-hour's rollup row at most once per flush interval, with durable marks that let an open
 * after a crash recompute what was not flushed. Reads here query the rollup points; the stores
 * call beforeRead() first, so a read sees every acknowledged reading.
 */
export class InfluxRollupLayer {
  private readonly writer: CoalescedRollupWriter;

  constructor(
    private readonly run: RunInfluxQL,
    send: (points: readonly InfluxPoint[]) => Promise<void>,
    options: RollupWriterOptions = {},
  ) {
    this.writer = new CoalescedRollupWriter(run, send, options);
  }

  write(points: readonly Point[]): Promise<void> {
    return this.writer.write(points);
  }

  /** Writes the dirty rollup rows now (and their watermark). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Makes any repair due and writes the dirty rows: a read after it sees every acknowledged reading. */
  beforeRead(): Promise<void> {
    return this.writer.beforeRead();
  }

  /**
   * Resolves once every write made before has finished — its raw points and rollup rows written —
   * and any repair they left is done (tests, and a store that closes).
   */
  settled(): Promise<void> {
    return this.writer.settled();
  }

  /** Stops the flush timer and writes the dirty rows (a failure is left to the next open's repair). */
  close(): Promise<void> {
    return this.writer.close();
  }

  /** Marks the last open found that no watermark covered (series-hours recomputed from raw). */
  get repairedAtOpen(): number {
    return this.writer.repairedAtOpen;
  }

  async luminaireHours(q: HourQuery): Promise<LuminaireHour[]> {
    const fields = LUMINAIRE_HOUR_FIELDS.map((f) => `"${f}"`).join(', ');
    return luminaireHoursOf(
      await this.run(
        `SELECT ${fields} FROM "${ROLLUP_MEASUREMENT.luminaire}" WHERE ${where('luminaire', q)} GROUP BY ${groupBy('luminaire')}`,
      ),
    );
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

/** WHERE of a read: time in [from, to), the filters (device only on rollups, where it is the last key tag). */
function where(m: RolledMeasurement, q: HourQuery, withDevice = true): string {
  const parts = [`time >= ${Math.trunc(q.from)}ms`, `time < ${Math.trunc(q.to)}ms`];
  if (q.municipality !== undefined) parts.push(`"municipality" = ${stringLiteral(q.municipality)}`);
  if (q.gateway !== undefined) parts.push(`"gateway" = ${stringLiteral(q.gateway)}`);
  if (withDevice && q.device !== undefined) parts.push(`"${SERIES_KEY_TAGS[m][2]}" = ${stringLiteral(q.device)}`);
  return parts.join(' AND ');
}
