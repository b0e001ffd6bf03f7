import type { DuckDBConnection } from '@duckdb/node-api';
import { ROLLUP_TABLE } from './rollup-tables';

/**
 * Daily per-luminaire sums derived from luminaire_hour: a month of a 100,000-luminaire city is 72 M
 * hour rows but 3 M day rows (issues 11 and 13: savings over 100k luminaires × 30 days). Only
 * energy, lit hours, readings, first/last ts and the latest group: what luminaireEnergy answers.
 *
 * Days start at midnight of a fixed UTC offset (`dayTierUtcOffsetHours`, default −3: Brasília time,
 * where most of Brazil's municipalities keep their calendar, without DST since 2019), so a
 * municipality's local day or month is whole day rows, with no hour edges to add; a range in
 * another zone reads its edge hours from luminaire_hour, exact either way.
 *
 * Derived, never written on its own: every save of luminaire hour rows recomputes, in the same
 * transaction, the day rows of the (luminaire, day) pairs it touched from all of that day's hour
 * rows (recomputed, not incremented, so a day row is exactly the sum of its hours whatever the
 * arrival order and however often an hour was rewritten). A file from before the tier, or written
 * with another offset, gets it rebuilt at open.
 */
export const DAY_TABLE = 'luminaire_day';
const META_TABLE = 'luminaire_day_meta';
export const DAY_MS = 86_400_000;

const KEY = ['municipality', 'gateway', 'luminaire'] as const;

export class DayTier {
  /** ms to add to UTC to get the tier's local time (−3 h: a day starts at 03:00 UTC) */
  readonly offsetMs: number;

  constructor(utcOffsetHours: number) {
    this.offsetMs = utcOffsetHours * 3_600_000;
  }

  /** SQL: the start (UTC ms) of the tier's day holding the instant `expr`. */
  startSql(expr: string): string {
    return `(${expr} - ((${expr} + ${this.offsetMs}) % ${DAY_MS} + ${DAY_MS}) % ${DAY_MS})`;
  }

  /** The start of the tier's day holding `ts`. */
  startOf(ts: number): number {
    return ts - ((((ts + this.offsetMs) % DAY_MS) + DAY_MS) % DAY_MS);
  }

  /** [first, last) whole tier days inside [from, to); empty (first ≥ last) when none. */
  wholeDays(from: number, to: number): { first: number; last: number } {
    const start = this.startOf(from);
    return { first: start === from ? from : start + DAY_MS, last: this.startOf(to) };
  }

  /** The day rows of the hour rows passing `hourWhere` (a condition on `h`), summed from their hours. */
  private sumsSelect(from: string, hourWhere: string): string {
    const day = this.startSql('h.hour_start');
    return `SELECT h.municipality, h.gateway, h.luminaire, ${day} AS day_start,
  sum(h.readings), min(h.first_ts), max(h.last_ts), sum(h.d0), sum(h.d1), arg_max(h.grp, h.last_ts)
FROM ${from} WHERE ${hourWhere}
GROUP BY h.municipality, h.gateway, h.luminaire, ${day}`;
  }

  /**
   * The statement recomputing the day rows of every (luminaire, day) that `staging` (hour rows
   * being saved) touches. Run after the staging rows are in luminaire_hour.
   */
  refreshSql(staging: string): string {
    const touched = `(SELECT DISTINCT ${KEY.join(', ')}, ${this.startSql('hour_start')} AS day_start FROM ${staging})`;
    const join = `${ROLLUP_TABLE.luminaire} h JOIN ${touched} k ON ${KEY.map((c) => `h.${c} = k.${c}`).join(' AND ')}`;
    return `INSERT OR REPLACE INTO ${DAY_TABLE} ${this.sumsSelect(join, `h.hour_start >= k.day_start AND h.hour_start < k.day_start + ${DAY_MS}`)}`;
  }

  /** Creates the day table; (re)builds it from every hour row when it is new or was laid out with another offset. */
  async ensure(conn: DuckDBConnection): Promise<void> {
    await conn.run(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (utc_offset_ms BIGINT NOT NULL)`);
    const meta = (await conn.runAndReadAll(`SELECT utc_offset_ms FROM ${META_TABLE}`)).getRowObjectsJS()[0];
    const existed = (
      await conn.runAndReadAll(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '${DAY_TABLE}'`)
    ).getRowObjectsJS()[0];
    if (Number(existed?.n ?? 0) > 0 && meta !== undefined && Number(meta.utc_offset_ms) === this.offsetMs) return;
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run(`DROP TABLE IF EXISTS ${DAY_TABLE}`);
      await conn.run(`CREATE TABLE ${DAY_TABLE} (municipality VARCHAR NOT NULL, gateway VARCHAR NOT NULL, luminaire VARCHAR NOT NULL,
  day_start BIGINT NOT NULL, readings BIGINT NOT NULL, first_ts BIGINT NOT NULL, last_ts BIGINT NOT NULL,
  d0 DOUBLE, d1 DOUBLE, grp VARCHAR, PRIMARY KEY (municipality, gateway, luminaire, day_start))`);
      await conn.run(`INSERT INTO ${DAY_TABLE} ${this.sumsSelect(`${ROLLUP_TABLE.luminaire} h`, 'true')}`);
      await conn.run(`DELETE FROM ${META_TABLE}; INSERT INTO ${META_TABLE} VALUES (${this.offsetMs})`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
