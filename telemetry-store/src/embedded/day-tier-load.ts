import type { DuckDBConnection } from '@duckdb/node-api';
import { DAY_TABLE, DayTier, GROUP_TABLE, NO_GROUP, SERIES_TABLE } from './day-tier';

/**
 * Loads day rows straight into a closed store's file, for benchmarks at sizes whose hour rows
 * would take minutes to write (100,000 luminaires × 30 days is 72 M hour rows): `select` yields
 * (municipality, gateway, luminaire, day_start, readings, first_ts, last_ts, d0, d1, grp) rows of
 * whole tier days at `utcOffsetHours`; their series and groups get ids and the blocks above the
 * days are built by the day tier's own statements, as a rebuild at open would. Returns the day rows added.
 */
export async function loadTierDays(conn: DuckDBConnection, select: string, utcOffsetHours: number): Promise<number> {
  const tier = new DayTier(utcOffsetHours);
  await conn.run(`CREATE TEMP TABLE loaded_days AS ${select}`);
  try {
    const cols = (await conn.runAndReadAll('SELECT * FROM loaded_days LIMIT 0')).columnNames();
    if (cols.length !== 10) throw new Error(`loadTierDays: ${cols.length} columns, 10 expected`);
    const [m, g, l, day, readings, first, last, d0, d1, grp] = cols.map((c) => `"${c.replaceAll('"', '""')}"`);
    await conn.run(tier.newSeriesSql(`SELECT DISTINCT ${m} AS municipality, ${g} AS gateway, ${l} AS luminaire FROM loaded_days`));
    await conn.run(tier.newGroupsSql(`SELECT DISTINCT ${grp} AS grp FROM loaded_days WHERE ${grp} IS NOT NULL`));
    await conn.run(`INSERT INTO ${DAY_TABLE} SELECT s.id, 1, d.${day}, d.${readings}, d.${first}, d.${last}, d.${d0}, d.${d1}, coalesce(gn.id, ${NO_GROUP})
      FROM loaded_days d JOIN ${SERIES_TABLE} s ON s.municipality = d.${m} AND s.gateway = d.${g} AND s.luminaire = d.${l}
      LEFT JOIN ${GROUP_TABLE} gn ON gn.name = d.${grp} ORDER BY 3, 1`);
    for (const statement of tier.buildBlocksSql()) await conn.run(statement);
    return Number((await conn.runAndReadAll('SELECT count(*) FROM loaded_days')).getRows()[0]?.[0] ?? 0);
  } finally {
    await conn.run('DROP TABLE loaded_days');
  }
}
