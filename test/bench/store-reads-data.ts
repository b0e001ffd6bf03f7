// Data and raw queries of the store-reads benchmark (store-reads.bench.ts).
//
// - A municipality-day city: readings every 15 min, written through each store's write path so its
//   hourly rollups are the ones the store maintains. Counter values are integers and quarter hours
//   (exact in binary), so a rollup sum and a raw sum are equal, not merely close.
// - The raw queries the rollups replace: per-luminaire reset-aware counter deltas straight from raw
//   points, in DuckDB SQL (lag over each series) and in InfluxQL (points in time order, reduced here).
// - Rollup rows for a programme (luminaires × days), generated in bulk, as SQL into DuckDB and as line
//   protocol into InfluxDB: this part reads rollups only, so they are loaded directly, not derived.
import type { DuckDBConnection } from '@duckdb/node-api';
import { CounterAccumulator, type LuminaireEnergy, type Point, type TelemetryStore } from '@poste/telemetry-store';
import { loadTierDays } from '@poste/telemetry-store/testing';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** 2026-10-01T03:00Z: midnight in Belém (UTC−3), the local day the municipality-day query asks for */
export const DAY_START = Date.UTC(2026, 9, 1, 3);
/** The day the municipality-day part and the API part read: Belém's local day of DAY_START. */
export const MUNICIPALITY_DAY = { municipality: 'belem', from: DAY_START, to: DAY_START + DAY_MS };
const READING_EVERY_MS = 15 * 60_000;
/** Readings start this long before the day, so its first hour has a previous reading to count from. */
const LEAD_MS = 2 * HOUR_MS;

export interface CitySpec {
  /** luminaires of the municipality asked for, and of a neighbour it must not count */
  luminaires: number;
  neighbourLuminaires: number;
}

/** The city's luminaire points, in time order, from DAY_START − 2 h to DAY_START + 25 h. */
export function* cityPoints(spec: CitySpec): Generator<Point> {
  const all = [
    ...Array.from({ length: spec.luminaires }, (_, i) => ({ municipality: 'belem', i })),
    ...Array.from({ length: spec.neighbourLuminaires }, (_, i) => ({ municipality: 'ananindeua', i })),
  ];
  const steps = (LEAD_MS + DAY_MS + HOUR_MS) / READING_EVERY_MS;
  // Lit half of each day: operating hours rise by a quarter hour per lit reading.
  let litSteps = 0;
  for (let k = 0; k < steps; k++) {
    const ts = DAY_START - LEAD_MS + k * READING_EVERY_MS;
    const lit = k % 96 < 48;
    if (lit) litSteps++;
    for (const { municipality, i } of all) {
      // Every tenth luminaire's energy counter restarts from zero mid-day (a meter reset).
      const resetAt = 60;
      const energy = i % 10 === 0 && k >= resetAt ? (k - resetAt) * (10 + (i % 7)) : 1_000 * i + k * (10 + (i % 7));
      yield {
        measurement: 'luminaire',
        tags: { municipality, gateway: `${municipality}-gw${i % 20}`, luminaire: `${municipality}-lum${i}`, group: `g${i % 8}` },
        fields: { activeEnergy: energy, operatingHours: 100 + litSteps * 0.25, activePower: lit ? 40 : 0, status: 'ok' },
        ts,
      };
    }
  }
}

/** Writes the city through the store's own write path, in batches as ingest sends them. */
export async function writeCity(store: TelemetryStore, spec: CitySpec, batch = 5_000): Promise<number> {
  let pending: Point[] = [];
  let n = 0;
  for (const p of cityPoints(spec)) {
    pending.push(p);
    if (pending.length >= batch) {
      await store.write(pending);
      n += pending.length;
      pending = [];
    }
  }
  if (pending.length > 0) await store.write(pending);
  return n + pending.length;
}

/**
 * The raw query in DuckDB: each reading's reset-aware delta from its series' previous reading (a
 * drop counts the new value from zero), summed per luminaire over [from, to). The previous reading
 * is looked for in the hour before `from` (this city reads every 15 min).
 */
export async function duckdbRawEnergy(conn: DuckDBConnection, municipality: string, from: number, to: number): Promise<LuminaireEnergy[]> {
  const delta = (c: string) => `CASE WHEN p_${c} IS NULL OR ${c} IS NULL THEN 0 WHEN ${c} >= p_${c} THEN ${c} - p_${c} ELSE ${c} END`;
  const reader = await conn.runAndReadAll(
    `WITH p AS (
       SELECT municipality, gateway, luminaire, "group" AS grp, ts, activeEnergy, operatingHours,
         lag(activeEnergy IGNORE NULLS) OVER w AS p_activeEnergy, lag(operatingHours IGNORE NULLS) OVER w AS p_operatingHours
       FROM luminaire WHERE municipality = $m AND ts >= $lookback AND ts < $to
       WINDOW w AS (PARTITION BY municipality, gateway, luminaire ORDER BY ts))
     SELECT municipality, gateway, luminaire, arg_max(grp, ts) AS grp, sum(${delta('activeEnergy')}) AS energy,
       sum(${delta('operatingHours')}) AS hours, count(*) AS points, min(ts) AS first_ts, max(ts) AS last_ts
     FROM p WHERE ts >= $from GROUP BY municipality, gateway, luminaire ORDER BY municipality, gateway, luminaire`,
    { m: municipality, lookback: from - HOUR_MS, from, to },
  );
  return reader.getRowObjectsJS().map((o) => ({
    municipality: String(o.municipality),
    gateway: String(o.gateway),
    luminaire: String(o.luminaire),
    group: String(o.grp),
    energyWh: Number(o.energy),
    litHours: Number(o.hours),
    points: Number(o.points),
    firstTs: Number(o.first_ts),
    lastTs: Number(o.last_ts),
  }));
}

/** One InfluxQL statement (epoch=ms) against `db`: its first result's series. */
export async function influxql(
  url: string,
  db: string,
  q: string,
): Promise<Array<{ tags?: Record<string, string>; columns: string[]; values: unknown[][] }>> {
  const res = await fetch(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as {
    results?: Array<{
      series?: Array<{ tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
      error?: string;
      partial?: boolean;
    }>;
  };
  const first = body.results?.[0];
  if (!res.ok || first?.error) throw new Error(`InfluxQL ${res.status}: ${first?.error ?? JSON.stringify(body)}`);
  if (first?.partial) throw new Error('InfluxQL answer truncated (max-row-limit)');
  return first?.series ?? [];
}

/** The raw query in InfluxQL: the municipality's points in time order per series, reduced as in duckdbRawEnergy. */
export async function influxRawEnergy(url: string, db: string, municipality: string, from: number, to: number): Promise<LuminaireEnergy[]> {
  const series = await influxql(
    url,
    db,
    `SELECT "activeEnergy", "operatingHours", "group" FROM "luminaire" WHERE "municipality" = '${municipality}' AND time >= ${from - HOUR_MS}ms AND time < ${to}ms GROUP BY "municipality", "gateway", "luminaire" ORDER BY time ASC`,
  );
  const out: LuminaireEnergy[] = [];
  for (const s of series) {
    const [iT, iE, iH, iG] = ['time', 'activeEnergy', 'operatingHours', 'group'].map((c) => s.columns.indexOf(c)) as [
      number,
      number,
      number,
      number,
    ];
    const energy = new CounterAccumulator();
    const hours = new CounterAccumulator();
    const row: LuminaireEnergy = {
      municipality: s.tags?.municipality ?? '',
      gateway: s.tags?.gateway ?? '',
      luminaire: s.tags?.luminaire ?? '',
      group: '',
      energyWh: 0,
      litHours: 0,
      points: 0,
      firstTs: Number.POSITIVE_INFINITY,
      lastTs: Number.NEGATIVE_INFINITY,
    };
    let before = { e: 0, h: 0 };
    for (const v of s.values) {
      const ts = Number(v[iT]);
      energy.add(ts, typeof v[iE] === 'number' ? v[iE] : null);
      hours.add(ts, typeof v[iH] === 'number' ? v[iH] : null);
      // Readings before `from` only start the chain: their deltas are not the range's.
      if (ts < from) {
        before = { e: energy.total, h: hours.total };
        continue;
      }
      row.points++;
      row.firstTs = Math.min(row.firstTs, ts);
      row.lastTs = Math.max(row.lastTs, ts);
      if (typeof v[iG] === 'string') row.group = v[iG];
    }
    row.energyWh = energy.total - before.e;
    row.litHours = hours.total - before.h;
    if (row.points > 0) out.push(row);
  }
  return out.sort((a, b) => (a.luminaire < b.luminaire ? -1 : a.luminaire > b.luminaire ? 1 : 0));
}

export interface ProgrammeSpec {
  luminaires: number;
  days: number;
  /** municipalities the luminaires are spread over */
  municipalities: number;
}

/** Hourly rollup rows of a programme into DuckDB's luminaire_hour, in one statement (4 readings an hour, 40 Wh, lit). */
export async function loadProgrammeDuckDB(conn: DuckDBConnection, spec: ProgrammeSpec, start: number): Promise<number> {
  const hours = spec.days * 24;
  await conn.run(
    `INSERT INTO luminaire_hour BY NAME SELECT 'm' || (l.range % ${spec.municipalities}) AS municipality, 'gw' || (l.range // 100) AS gateway,
       'lum' || l.range AS luminaire, ${start} + h.range * ${HOUR_MS} AS hour_start, 4 AS readings, ${start} + h.range * ${HOUR_MS} AS first_ts,
       ${start} + h.range * ${HOUR_MS} + 2700000 AS last_ts, 40.0 AS d0, 1.0 AS d1, h.range * 40.0 AS s0, h.range * 1.0 AS s1,
       (h.range + 1) * 40.0 AS c0, (h.range + 1) * 1.0 AS c1, 'g' || (l.range % 8) AS grp, '{"ok":4}' AS status_counts
     FROM range(${hours}) h, range(${spec.luminaires}) l ORDER BY h.range`,
  );
  return spec.luminaires * hours;
}

/**
 * The day rows the store's day tier would derive from loadProgrammeDuckDB's hour rows (24 of them a
 * day), loaded directly into a closed store's file; their ids and blocks by the tier's own code.
 */
export async function loadProgrammeDaysDuckDB(conn: DuckDBConnection, spec: ProgrammeSpec, start: number): Promise<number> {
  return loadTierDays(
    conn,
    `SELECT 'm' || (l.range % ${spec.municipalities}), 'gw' || (l.range // 100), 'lum' || l.range,
       ${start} + d.range * ${DAY_MS}, 96, ${start} + d.range * ${DAY_MS}, ${start} + d.range * ${DAY_MS} + 23 * ${HOUR_MS} + 2700000,
       960.0, 24.0, 'g' || (l.range % 8)
     FROM range(${spec.days}) d, range(${spec.luminaires}) l`,
    // the store's default dayTierUtcOffsetHours: `start` is a midnight at UTC−3
    -3,
  );
}

/**
 * The tier's first layout beside the current one, for the baseline: its day rows keyed by the three
 * names (luminaire_day_by_name, as session 4's luminaire_day), built from the current day rows.
 */
export async function buildDaysByName(conn: DuckDBConnection): Promise<void> {
  await conn.run(`CREATE OR REPLACE TABLE luminaire_day_by_name AS
    SELECT s.municipality, s.gateway, s.luminaire, d.day_start, d.readings, d.first_ts, d.last_ts, d.d0, d.d1, g.name AS grp
    FROM luminaire_day d JOIN luminaire_series s ON s.id = d.series LEFT JOIN luminaire_group_name g ON g.id = d.grp
    WHERE d.span = 1 ORDER BY d.day_start`);
}

/**
 * Every luminaire's sums over the first layout's day rows of [from, to) (buildDaysByName), grouped
 * by name in SQL and read back column-wise: the savings read before the tier's ids and blocks, in SQL alone.
 */
export async function duckdbDaySums(conn: DuckDBConnection, from: number, to: number): Promise<number> {
  const reader = await conn.runAndReadAll(
    `SELECT municipality, gateway, luminaire, sum(d0) AS d0, sum(d1) AS d1, CAST(sum(readings) AS DOUBLE) AS readings,
       CAST(min(first_ts) AS DOUBLE) AS first_ts, CAST(max(last_ts) AS DOUBLE) AS last_ts, arg_max(grp, last_ts) AS grp
     FROM luminaire_day_by_name WHERE day_start >= $from AND day_start < $to GROUP BY ALL`,
    { from, to },
  );
  reader.getColumnsJS();
  return reader.currentRowCount;
}

/** Every luminaire's sums over the hour rows of [from, to): the programme query before the day tier, in SQL alone. */
export async function duckdbHourSums(conn: DuckDBConnection, from: number, to: number): Promise<number> {
  const reader = await conn.runAndReadAll(
    `SELECT municipality, gateway, luminaire, sum(d0) AS d0, sum(d1) AS d1, CAST(sum(readings) AS DOUBLE) AS readings, arg_max(grp, last_ts) AS grp
     FROM luminaire_hour WHERE hour_start >= $from AND hour_start < $to GROUP BY ALL`,
    { from, to },
  );
  reader.getColumnsJS();
  return reader.currentRowCount;
}

/** The same rows as InfluxDB rollup points (luminaire_hour, as the InfluxDB backends write them), in line-protocol batches. */
export async function loadProgrammeInflux(url: string, db: string, spec: ProgrammeSpec, start: number): Promise<number> {
  const hours = spec.days * 24;
  let lines: string[] = [];
  const send = async () => {
    const res = await fetch(`${url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
    if (res.status !== 204) throw new Error(`influx write ${res.status}: ${await res.text()}`);
    lines = [];
  };
  for (let h = 0; h < hours; h++) {
    const t = start + h * HOUR_MS;
    for (let l = 0; l < spec.luminaires; l++) {
      lines.push(
        `luminaire_hour,gateway=gw${Math.floor(l / 100)},luminaire=lum${l},municipality=m${l % spec.municipalities} ` +
          `readings=4,first_ts=${t},last_ts=${t + 2_700_000},d0=40,d1=1,s0=${h * 40},s1=${h},c0=${(h + 1) * 40},c1=${h + 1},grp="g${l % 8}",status_counts="{\\"ok\\":4}" ${t}`,
      );
      if (lines.length >= 10_000) await send();
    }
  }
  if (lines.length > 0) await send();
  return spec.luminaires * hours;
}
