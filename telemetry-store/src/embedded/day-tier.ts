import type { DuckDBConnection } from '@duckdb/node-api';
import { ROLLUP_TABLE } from './rollup-tables';
import { SeriesNames } from './series-names';

/**
 * Daily per-luminaire sums derived from luminaire_hour, and power-of-two blocks of them: a month of
 * a 100,000-luminaire city is 72 M hour rows, 3 M day rows, and at most 8 block rows per luminaire
 * for any 30 days (issues 11 and 13: savings over 100k luminaires × 30 days). Only energy, lit
 * hours, readings, first/last ts and the latest group: what luminaireEnergy answers.
 *
 * Days start at midnight of a fixed UTC offset (`dayTierUtcOffsetHours`, default −3: Brasília time,
 * where most of Brazil's municipalities keep their calendar, without DST since 2019), so a
 * municipality's local day or month is whole tier rows, with no hour edges to add; a range in
 * another zone reads its edge hours from luminaire_hour, exact either way.
 *
 * Rows are keyed by an integer series id (luminaire_series: municipality, gateway, luminaire) and
 * carry an integer group id (luminaire_group_name), so a read moves numbers only and the names come
 * from a cache in memory (series-names.ts). A row of `span` 2^k days starts on a day whose index
 * (days since the epoch at the offset) is a multiple of 2^k and sums the two rows of span 2^(k−1)
 * it covers; span 1 is the day itself.
 *
 * Derived, never written on its own: every save of luminaire hour rows gives new series and groups
 * their ids, recomputes the day rows of the (luminaire, day) pairs it touched from all of that
 * day's hour rows, then each span's blocks over those days from the span below, all in the save's
 * transaction (recomputed, not incremented, so a row is exactly the sum of its hours whatever the
 * arrival order and however often an hour was rewritten). A file from before this layout, or
 * written with another offset, gets the tier rebuilt at open.
 */
export const DAY_TABLE = 'luminaire_day';
export const SERIES_TABLE = 'luminaire_series';
export const GROUP_TABLE = 'luminaire_group_name';
const LAYOUT_TABLE = 'luminaire_day_layout';
/** the first layout's meta table (days keyed by the three names, no blocks): dropped on rebuild */
const FIRST_LAYOUT_TABLE = 'luminaire_day_meta';
/** bumped whenever the tier's tables change shape: a file with another version is rebuilt at open */
const LAYOUT_VERSION = 2;
export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** the widest block: a year is ≤ 17 rows per luminaire, and a save recomputes six block spans */
export const MAX_SPAN_DAYS = 64;
/** spans of blocks above the day, 2 … MAX_SPAN_DAYS */
export const BLOCK_SPANS: readonly number[] = Array.from({ length: Math.log2(MAX_SPAN_DAYS) }, (_, k) => 2 ** (k + 1));
/** the group id of hour rows without a group (NULL grp) */
export const NO_GROUP = -1;

const NAMES = ['municipality', 'gateway', 'luminaire'] as const;
/** the writer connection's scratch table: the (series, day) pairs a save touches, computed once per save */
const TOUCHED = 'luminaire_day_touched';

/** One tier row to read: the rows of `span` days starting at `start`. */
export interface TierPart {
  span: number;
  start: number;
}

export class DayTier {
  /** ms to add to UTC to get the tier's local time (−3 h: a day starts at 03:00 UTC) */
  readonly offsetMs: number;
  /** the series' and groups' names, as read by the read connection (reset when the tier is rebuilt) */
  readonly names = new SeriesNames();

  constructor(utcOffsetHours: number) {
    this.offsetMs = utcOffsetHours * 3_600_000;
  }

  /** SQL: the start (UTC ms) of the tier's day holding the instant `expr`. */
  startSql(expr: string): string {
    return `(${expr} - ((${expr} + ${this.offsetMs}) % ${DAY_MS} + ${DAY_MS}) % ${DAY_MS})`;
  }

  /** SQL: the start of the `span`-day block holding the tier day starting at `dayExpr`. */
  blockStartSql(dayExpr: string, span: number): string {
    return `(${dayExpr} - ((((${dayExpr} + ${this.offsetMs}) // ${DAY_MS}) % ${span} + ${span}) % ${span}) * ${DAY_MS})`;
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

  /**
   * The tier rows covering the whole tier days [first, last) exactly, widest first from the left:
   * each step takes the widest block that starts at the current day (its index a multiple of the
   * span) and ends by `last` — at most two blocks per span plus one per MAX_SPAN_DAYS.
   */
  parts(first: number, last: number): TierPart[] {
    const out: TierPart[] = [];
    let day = Math.round((first + this.offsetMs) / DAY_MS);
    const end = Math.round((last + this.offsetMs) / DAY_MS);
    while (day < end) {
      let span = MAX_SPAN_DAYS;
      while (span > 1 && (((day % span) + span) % span !== 0 || day + span > end)) span /= 2;
      out.push({ span, start: day * DAY_MS - this.offsetMs });
      day += span;
    }
    return out;
  }

  /**
   * The statements (one string, `;`-separated) bringing the tier up to date with the hour rows of
   * `staging` (hour rows being saved), run in the save's transaction after those rows are in
   * luminaire_hour: ids for new series and groups, the touched days recomputed from their hours,
   * then each span's touched blocks from the span below.
   */
  refreshSql(staging: string): string {
    const key = NAMES.join(', ');
    const day = this.startSql('hour_start');
    const statements = [
      this.newSeriesSql(`SELECT DISTINCT ${key} FROM ${staging}`),
      this.newGroupsSql(`SELECT DISTINCT grp FROM ${staging} WHERE grp IS NOT NULL`),
      `CREATE TEMP TABLE IF NOT EXISTS ${TOUCHED} (series INTEGER, ${NAMES.map((c) => `${c} VARCHAR`).join(', ')}, day_start BIGINT)`,
      `DELETE FROM ${TOUCHED}`,
      `INSERT INTO ${TOUCHED} SELECT s.id, t.* FROM (SELECT DISTINCT ${key}, ${day} AS day_start FROM ${staging}) t
  JOIN ${SERIES_TABLE} s USING (${key})`,
      // Equality on hour_start (each touched day's 24 hours): the scan of luminaire_hour is cut to
      // the touched hours' range by the join's own filter instead of reading every hour row.
      `INSERT OR REPLACE INTO ${DAY_TABLE} ${this.daysFromHoursSql(
        `${ROLLUP_TABLE.luminaire} h JOIN (SELECT t.*, t.day_start + r.range * ${HOUR_MS} AS hour_start FROM ${TOUCHED} t, range(24) r) k
  ON ${NAMES.map((c) => `h.${c} = k.${c}`).join(' AND ')} AND h.hour_start = k.hour_start`,
        'k.series',
        'k.day_start',
      )}`,
    ];
    statements.push(this.touchedBlocksSql());
    return statements.join(';\n');
  }

  /**
   * One statement for every span's touched blocks, span by span in materialized CTEs: a block of
   * span S sums its two children of span S/2, the new value of a child recomputed just before (in
   * the CTE below) or else the row in the table (untouched). One statement instead of one per
   * span: on a city of a few thousand luminaires each statement's fixed cost was most of a save.
   */
  private touchedBlocksSql(): string {
    const values = 'readings, first_ts, last_ts, d0, d1, grp';
    const ctes: string[] = [];
    let below = 1;
    for (const span of BLOCK_SPANS) {
      const block = this.blockStartSql('day_start', span);
      // The children of the touched blocks: equality on (series, day_start), so the scan skips the rest of the tier.
      const fromTable = `SELECT d.series, d.day_start, ${values
        .split(', ')
        .map((c) => `d.${c}`)
        .join(', ')}
    FROM ${DAY_TABLE} d JOIN (SELECT DISTINCT series, ${block} + r.range * ${below * DAY_MS} AS child_start FROM ${TOUCHED}, range(2) r) c
      ON d.series = c.series AND d.day_start = c.child_start AND d.span = ${below}`;
      const children =
        below === 1
          ? fromTable
          : `SELECT series, day_start, ${values} FROM b${below}
    UNION ALL
    ${fromTable}
      WHERE NOT EXISTS (SELECT 1 FROM b${below} n WHERE n.series = d.series AND n.day_start = d.day_start)`;
      const x = this.blockStartSql('x.day_start', span);
      ctes.push(`b${span} AS MATERIALIZED (
  SELECT x.series, ${x} AS day_start, sum(x.readings) AS readings, min(x.first_ts) AS first_ts, max(x.last_ts) AS last_ts,
    sum(x.d0) AS d0, sum(x.d1) AS d1, arg_max(x.grp, x.last_ts) AS grp
  FROM (${children}) x GROUP BY x.series, ${x})`);
      below = span;
    }
    return `INSERT OR REPLACE INTO ${DAY_TABLE}
WITH ${ctes.join(',\n')}
${BLOCK_SPANS.map((span) => `SELECT series, ${span}, day_start, ${values} FROM b${span}`).join('\nUNION ALL\n')}`;
  }

  /** INSERT of ids for the series of `namesSelect` (rows of municipality, gateway, luminaire) that have none yet, dense after the highest. */
  newSeriesSql(namesSelect: string): string {
    const key = NAMES.join(', ');
    return `INSERT INTO ${SERIES_TABLE}
SELECT (SELECT coalesce(max(id), -1) FROM ${SERIES_TABLE}) + row_number() OVER (ORDER BY ${key}), ${key}
FROM (${namesSelect}) n WHERE NOT EXISTS (SELECT 1 FROM ${SERIES_TABLE} s WHERE ${NAMES.map((c) => `s.${c} = n.${c}`).join(' AND ')})`;
  }

  /** INSERT of ids for the group names of `groupsSelect` (rows of grp) that have none yet. */
  newGroupsSql(groupsSelect: string): string {
    return `INSERT INTO ${GROUP_TABLE}
SELECT (SELECT coalesce(max(id), -1) FROM ${GROUP_TABLE}) + row_number() OVER (ORDER BY grp), grp
FROM (${groupsSelect}) n WHERE NOT EXISTS (SELECT 1 FROM ${GROUP_TABLE} g WHERE g.name = n.grp)`;
  }

  /**
   * Day rows (span 1) summed from the hour rows `h` of `from`, grouped by `series` and `dayStart`.
   * The group is the latest hour's (a NULL one included: arg_max_null), then its id.
   */
  private daysFromHoursSql(from: string, series: string, dayStart: string): string {
    return `SELECT d.series, 1, d.day_start, d.readings, d.first_ts, d.last_ts, d.d0, d.d1, coalesce(g.id, ${NO_GROUP})
FROM (SELECT ${series} AS series, ${dayStart} AS day_start, sum(h.readings) AS readings, min(h.first_ts) AS first_ts,
    max(h.last_ts) AS last_ts, coalesce(sum(h.d0), 0) AS d0, coalesce(sum(h.d1), 0) AS d1, arg_max_null(h.grp, h.last_ts) AS grp
  FROM ${from} GROUP BY ${series}, ${dayStart}) d
LEFT JOIN ${GROUP_TABLE} g ON g.name = d.grp`;
  }

  /** Block rows of `span` summed from the rows `d` of `from` (the span below), grouped by `series` and `blockStart`. */
  private blockSql(span: number, from: string, series: string, blockStart: string): string {
    return `SELECT ${series}, ${span}, ${blockStart}, sum(d.readings), min(d.first_ts), max(d.last_ts), sum(d.d0), sum(d.d1),
  arg_max(d.grp, d.last_ts)
FROM ${from} GROUP BY ${series}, ${blockStart}`;
  }

  /**
   * Every block row, span by span, from the day rows: a rebuild's last step, and how a file whose
   * day rows were loaded directly (the store-reads benchmark) gets its blocks. Replaces any block rows.
   */
  buildBlocksSql(): string[] {
    const statements = [`DELETE FROM ${DAY_TABLE} WHERE span > 1`];
    let below = 1;
    for (const span of BLOCK_SPANS) {
      const block = this.blockStartSql('d.day_start', span);
      // Sorted by time: a range's rows sit together in the file, so its scan skips the rest.
      statements.push(
        `INSERT INTO ${DAY_TABLE} ${this.blockSql(span, `${DAY_TABLE} d WHERE d.span = ${below}`, 'd.series', block)} ORDER BY 3, 1`,
      );
      below = span;
    }
    return statements;
  }

  /** Creates the tier's tables; (re)builds them from every hour row when missing, of an earlier layout, or laid out with another offset. */
  async ensure(conn: DuckDBConnection): Promise<void> {
    this.names.reset();
    await conn.run(`CREATE TABLE IF NOT EXISTS ${LAYOUT_TABLE} (utc_offset_ms BIGINT NOT NULL, version INTEGER NOT NULL)`);
    const layout = (await conn.runAndReadAll(`SELECT utc_offset_ms, version FROM ${LAYOUT_TABLE}`)).getRowObjectsJS()[0];
    const tables = (
      await conn.runAndReadAll(
        `SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('${DAY_TABLE}', '${SERIES_TABLE}', '${GROUP_TABLE}')`,
      )
    ).getRowObjectsJS()[0];
    const current = layout !== undefined && Number(layout.utc_offset_ms) === this.offsetMs && Number(layout.version) === LAYOUT_VERSION;
    if (current && Number(tables?.n ?? 0) === 3) return;
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const statement of this.rebuildSql()) await conn.run(statement);
      await conn.run(`DELETE FROM ${LAYOUT_TABLE}; INSERT INTO ${LAYOUT_TABLE} VALUES (${this.offsetMs}, ${LAYOUT_VERSION})`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** The tier's tables created empty (dropping any earlier ones), then filled from every hour row. */
  private rebuildSql(): string[] {
    const key = NAMES.join(', ');
    const hours = ROLLUP_TABLE.luminaire;
    return [
      `DROP TABLE IF EXISTS ${DAY_TABLE}`,
      `DROP TABLE IF EXISTS ${SERIES_TABLE}`,
      `DROP TABLE IF EXISTS ${GROUP_TABLE}`,
      `DROP TABLE IF EXISTS ${FIRST_LAYOUT_TABLE}`,
      `CREATE TABLE ${SERIES_TABLE} (id INTEGER PRIMARY KEY, ${NAMES.map((c) => `${c} VARCHAR NOT NULL`).join(', ')}, UNIQUE (${key}))`,
      `CREATE TABLE ${GROUP_TABLE} (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE)`,
      `CREATE TABLE ${DAY_TABLE} (series INTEGER NOT NULL, span INTEGER NOT NULL, day_start BIGINT NOT NULL, readings BIGINT NOT NULL,
  first_ts BIGINT NOT NULL, last_ts BIGINT NOT NULL, d0 DOUBLE NOT NULL, d1 DOUBLE NOT NULL, grp INTEGER NOT NULL,
  PRIMARY KEY (series, span, day_start))`,
      this.newSeriesSql(`SELECT DISTINCT ${key} FROM ${hours}`),
      this.newGroupsSql(`SELECT DISTINCT grp FROM ${hours} WHERE grp IS NOT NULL`),
      `INSERT INTO ${DAY_TABLE} ${this.daysFromHoursSql(
        `${hours} h JOIN ${SERIES_TABLE} s USING (${key})`,
        's.id',
        this.startSql('h.hour_start'),
      )} ORDER BY 3, 1`,
      ...this.buildBlocksSql(),
    ];
  }
}
