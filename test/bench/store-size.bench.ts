// The embedded store's file size per luminaire-year at its retention defaults (issue 13 item 4): raw
// points kept 90 days (one reading a minute, the simulators' and agents' default report interval)
// plus a year of hourly rollup rows. Written in bulk with SQL into the tables the store creates
// (writing 90 days of minutes through the store would take far longer than the size is worth),
// with varying values (noise, lit nights, dimming, rising counters) so DuckDB's compression sees
// what real readings look like, not constants. Checkpointed, then measured on disk.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openStore } from '@poste/telemetry-store';
import { type BenchModule, report } from './bench-kit';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const START = Date.UTC(2025, 9, 1);
const RAW_DAYS = 90;
const ROLLUP_DAYS = 365;

/** A pseudo-random 0..999 per luminaire and step, in SQL. */
const noise = (salt: number) => `(hash(l.range, k.range, ${salt}) % 1000)`;

async function fileBytes(path: string): Promise<number> {
  const wal = await stat(`${path}.wal`).then(
    (s) => s.size,
    () => 0,
  );
  return (await stat(path)).size + wal;
}

export const storeSizeBench: BenchModule = {
  name: 'store-size',
  description: 'embedded DuckDB file bytes per luminaire-year: 90 days of raw readings at 1/min + 365 days of hourly rollups',
  async run({ quick }) {
    const luminaires = quick ? 20 : 200;
    const dir = await mkdtemp(join(tmpdir(), 'poste-store-size-'));
    const path = join(dir, 'telemetry.duckdb');
    try {
      await (await openStore({ kind: 'embedded', path })).close();
      const empty = await fileBytes(path);
      const instance = await DuckDBInstance.create(path);
      const conn = await instance.connect();
      const minutes = RAW_DAYS * 24 * 60;
      const lit = `((k.range % 1440) < 720)`;
      await conn.run(
        `INSERT INTO luminaire BY NAME SELECT 'belem' AS municipality, 'belem-gw' || (l.range // 60) AS gateway, 'belem-lum' || l.range AS luminaire,
           'g' || (l.range % 8) AS "group", ${START} + k.range * ${MINUTE_MS} AS ts,
           CASE WHEN ${lit} THEN 80 + ${noise(1)} / 100.0 ELSE 0 END AS activePower,
           round(1000 * l.range + k.range * 0.6667 + ${noise(2)} / 1000.0, 3) AS activeEnergy,
           CASE WHEN ${lit} THEN (CASE WHEN (k.range % 1440) < 300 THEN 100 ELSE 70 END) ELSE 0 END AS dimLevel,
           220 + ${noise(3)} / 100.0 AS voltage, CASE WHEN ${lit} THEN round(0.36 + ${noise(4)} / 10000.0, 4) ELSE 0 END AS current,
           CASE WHEN ${lit} THEN 0.95 + ${noise(5)} / 20000.0 ELSE 0 END AS powerFactor,
           100 + (k.range // 1440) * 12 + least(k.range % 1440, 720) / 60.0 AS operatingHours, 10 + k.range // 1440 AS switchOnCounter, 'ok' AS status
         FROM range(${minutes}) k, range(${luminaires}) l ORDER BY k.range`,
      );
      await conn.run('CHECKPOINT');
      const withRaw = await fileBytes(path);
      const hours = ROLLUP_DAYS * 24;
      await conn.run(
        `INSERT INTO luminaire_hour BY NAME SELECT 'belem' AS municipality, 'belem-gw' || (l.range // 60) AS gateway, 'belem-lum' || l.range AS luminaire,
           ${START} + k.range * ${HOUR_MS} AS hour_start, 60 AS readings, ${START} + k.range * ${HOUR_MS} AS first_ts, ${START} + k.range * ${HOUR_MS} + 59 * ${MINUTE_MS} AS last_ts,
           round(40 + ${noise(6)} / 100.0, 3) AS d0, CASE WHEN (k.range % 24) < 12 THEN 1.0 ELSE 0.0 END AS d1,
           round(1000 * l.range + k.range * 40.01, 3) AS s0, 100 + k.range / 2.0 AS s1, round(1000 * l.range + (k.range + 1) * 40.01, 3) AS c0,
           100 + (k.range + 1) / 2.0 AS c1, 'g' || (l.range % 8) AS grp, '{"ok":60}' AS status_counts
         FROM range(${hours}) k, range(${luminaires}) l ORDER BY k.range`,
      );
      await conn.run('CHECKPOINT');
      const withRollups = await fileBytes(path);
      conn.closeSync();
      instance.closeSync();
      const perLuminaire = (withRollups - empty) / luminaires;
      report('embedded file per luminaire-year', {
        luminaires,
        raw_rows_each: minutes,
        rollup_rows_each: hours,
        raw_90d_kb: (withRaw - empty) / luminaires / 1024,
        rollups_365d_kb: (withRollups - withRaw) / luminaires / 1024,
        total_kb: perLuminaire / 1024,
        per_10k_luminaires_gb: (perLuminaire * 10_000) / 1e9,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
