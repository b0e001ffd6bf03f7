// Reads from rollups against the raw queries they replace, on the embedded store (DuckDB) and on
// InfluxDB 1.6, in the same run (issues 11 item 9, 13 item 3):
// - municipality-day: one municipality's energy over its local day, from the hourly rollups the
//   store maintained while the city was written through its write path, timed alone and with 50
//   concurrent clients (p50/p99), beside the raw query (same answer asserted, luminaire by luminaire);
// - programme: every luminaire over 30 days from hourly rollup rows loaded directly (the part reads
//   rollups only; deriving them through the write path would only make the run longer).
// Clients and store share this process and the machine's cores: latencies are upper bounds.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { computeEnergy, type EnergyReport, type Inventory, parseInventory } from '@poste/dashboard-api';
import { type LuminaireEnergy, openStore, type TelemetryStore } from '@poste/telemetry-store';
import { startInfluxDB } from '../harness/influxdb';
import { type BenchModule, percentile, report } from './bench-kit';
import { apiClients } from './store-reads-api';
import { assertSameReport, influxFullSizeCells, savingsFromCells } from './store-reads-cells';
import {
  type CitySpec,
  DAY_MS,
  DAY_START,
  buildDaysByName,
  duckdbDaySums,
  duckdbHourSums,
  duckdbRawEnergy,
  loadProgrammeDaysDuckDB,
  influxRawEnergy,
  loadProgrammeDuckDB,
  loadProgrammeInflux,
  MUNICIPALITY_DAY,
  type ProgrammeSpec,
  writeCity,
} from './store-reads-data';

/** The programme's rows start after the city's day, so the two parts never read each other's rows. */
const PROGRAMME_START = DAY_START + 10 * DAY_MS;

interface Sizes {
  city: CitySpec;
  /** embedded: hour rows loaded, its day tier built from them by the store */
  programme: ProgrammeSpec;
  /** InfluxDB: hour rollup points loaded through its HTTP API (slow: smaller) */
  influxProgramme: ProgrammeSpec;
  runs: number;
  concurrentMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: Awaited<T> }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** `runs` sequential calls after `warmup` (≥ 1) untimed ones: each call's ms and the last answer. */
async function sequential<T>(runs: number, fn: () => Promise<T>, warmup = 2): Promise<{ ms: number[]; value: Awaited<T> }> {
  let value = await fn();
  for (let i = 1; i < warmup; i++) value = await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await timed(fn);
    ms.push(r.ms);
    value = r.value;
  }
  return { ms, value };
}

/** `clients` loops calling `fn` back to back for `durationMs`: every call's ms. */
async function concurrent(clients: number, durationMs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) ms.push((await timed(fn)).ms);
    }),
  );
  return ms;
}

/** The rollup answer must be the raw one, luminaire by luminaire, exactly (the city's values are exact in binary). */
function assertSame(store: string, rollup: LuminaireEnergy[], raw: LuminaireEnergy[]): void {
  const key = (r: LuminaireEnergy) => `${r.municipality}|${r.gateway}|${r.luminaire}`;
  const rawBy = new Map(raw.map((r) => [key(r), r]));
  if (rollup.length !== raw.length || rollup.length === 0)
    throw new Error(`${store}: ${rollup.length} luminaires from rollups, ${raw.length} from raw`);
  for (const r of rollup) {
    const w = rawBy.get(key(r));
    for (const f of ['energyWh', 'litHours', 'points', 'firstTs', 'lastTs', 'group'] as const) {
      if (w?.[f] !== r[f]) throw new Error(`${store}: ${key(r)} ${f} is ${String(r[f])} from rollups, ${String(w?.[f])} from raw`);
    }
  }
}

/** The municipality-day part on an open store: timings of the rollup read, alone and under 50 clients. */
async function municipalityDay(name: string, store: TelemetryStore, sizes: Sizes): Promise<{ answer: LuminaireEnergy[]; p50: number }> {
  const alone = await sequential(sizes.runs, () => store.luminaireEnergy(MUNICIPALITY_DAY));
  const many = await concurrent(50, sizes.concurrentMs, () => store.luminaireEnergy(MUNICIPALITY_DAY));
  report(
    `${name} municipality-day rollups`,
    {
      luminaires: alone.value.length,
      p50_ms: percentile(alone.ms, 50),
      p99_ms: percentile(alone.ms, 99),
    },
    '≤ 20 ms',
  );
  // Informational: 50 callers straight on the store, no cache; the 50-client target is the API's (apiClients).
  report(`${name} municipality-day 50 callers on the store`, {
    requests: many.length,
    req_per_s: many.length / (sizes.concurrentMs / 1000),
    p50_ms: percentile(many, 50),
    p99_ms: percentile(many, 99),
  });
  return { answer: alone.value, p50: percentile(alone.ms, 50) };
}

function reportRaw(name: string, raw: number[], rollupP50: number): void {
  report(`${name} municipality-day raw (baseline)`, { p50_ms: percentile(raw, 50), rollup_speedup: percentile(raw, 50) / rollupP50 });
}

/** The programme's inventory: its municipalities with the defaults (baseline 170 W, ANEEL hours). */
function programmeInventory(spec: ProgrammeSpec): Inventory {
  return parseInventory({
    municipalities: Array.from({ length: spec.municipalities }, (_, i) => ({
      id: `m${i}`,
      name: `Município ${i}`,
      timeZone: 'America/Sao_Paulo',
      tariffBrlPerKwh: 0.84,
    })),
    gateways: {},
  });
}

/** The savings query the dashboard runs (GET /api/v1/energy): per-luminaire energy from the store, then the figures. */
async function savings(store: TelemetryStore, spec: ProgrammeSpec, inventory: Inventory): Promise<EnergyReport> {
  const range = { from: PROGRAMME_START, to: PROGRAMME_START + spec.days * DAY_MS };
  const report = computeEnergy(await store.luminaireEnergy(range), inventory, range);
  if (report.luminaires !== spec.luminaires) throw new Error(`savings over ${report.luminaires} luminaires, ${spec.luminaires} loaded`);
  return report;
}

function reportProgramme(
  name: string,
  spec: ProgrammeSpec,
  fields: Record<string, number>,
  ms: number[],
  baselineMs?: number[],
  baseline = 'hour_rows_query',
): void {
  const p50 = percentile(ms, 50);
  report(
    `${name} savings ${spec.luminaires}×${spec.days}d`,
    {
      ...fields,
      p50_ms: p50,
      ...(baselineMs ? { [`${baseline}_p50_ms`]: percentile(baselineMs, 50), speedup: percentile(baselineMs, 50) / p50 } : {}),
      // Below 100,000 luminaires: linear in luminaires (the rows read are per luminaire-day or -hour).
      ...(spec.luminaires < 100_000 ? { at_100k_x_30d_ms: (p50 * 100_000 * 30) / (spec.luminaires * spec.days) } : {}),
    },
    '100k × 30 d ≤ 200 ms',
  );
}

/**
 * The target's size itself, 100,000 luminaires × 30 days, on a fresh file whose day rows (3 M) are
 * loaded directly, their ids and power-of-two blocks built by the tier's own code: building them
 * through the hour rows (72 M) takes minutes here, and a range of whole tier days reads tier rows
 * only (the hour rows' part of the tier is checked at 10,000 above and in day-tier.test.ts,
 * day-blocks.test.ts). Beside it, in the same run, the query it replaces at this size: the day
 * rows of the 30 days in the tier's first layout (keyed by the three names) summed per luminaire
 * in SQL and read back (session 4's read, before the ids and blocks), in SQL alone.
 */
async function fullSizeFromDayRows(dir: string): Promise<void> {
  const spec: ProgrammeSpec = { luminaires: 100_000, days: 30, municipalities: 10 };
  const path = join(dir, 'programme-100k.duckdb');
  await (await openStore({ kind: 'embedded', path })).close();
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  const load = await timed(() => loadProgrammeDaysDuckDB(conn, spec, PROGRAMME_START));
  conn.closeSync();
  instance.closeSync();
  const store = await openStore({ kind: 'embedded', path });
  let programme: Awaited<ReturnType<typeof sequential<EnergyReport>>>;
  try {
    programme = await sequential(5, () => savings(store, spec, programmeInventory(spec)), 1);
  } finally {
    await store.close();
  }
  const again = await DuckDBInstance.create(path);
  const rawConn = await again.connect();
  await buildDaysByName(rawConn);
  const daySums = await sequential(3, () => duckdbDaySums(rawConn, PROGRAMME_START, PROGRAMME_START + spec.days * DAY_MS), 1);
  rawConn.closeSync();
  again.closeSync();
  reportProgramme(
    'embedded (day rows loaded)',
    spec,
    { day_rows: load.value, load_s: load.ms / 1000, luminaires: programme.value.luminaires },
    programme.ms,
    daySums.ms,
    'day_rows_by_name_query',
  );
}

async function embeddedPart(sizes: Sizes): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'poste-store-reads-'));
  const path = join(dir, 'telemetry.duckdb');
  try {
    let store = await openStore({ kind: 'embedded', path });
    const w = await timed(() => writeCity(store, sizes.city));
    report('embedded city written', { points: w.value, points_per_s: w.value / (w.ms / 1000) });
    const { answer, p50 } = await municipalityDay('embedded', store, sizes);
    await apiClients('embedded', store, sizes.concurrentMs);
    await store.close();

    // The store holds the file's lock: the raw query runs on the closed file, then the programme's rows go in.
    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    const raw = await sequential(sizes.runs, () =>
      duckdbRawEnergy(conn, MUNICIPALITY_DAY.municipality, MUNICIPALITY_DAY.from, MUNICIPALITY_DAY.to),
    );
    assertSame('embedded', answer, raw.value);
    reportRaw('embedded', raw.ms, p50);
    const spec = sizes.programme;
    const load = await timed(() => loadProgrammeDuckDB(conn, spec, PROGRAMME_START));
    // The hour rows went in behind the store's back: its day tier is dropped and rebuilt from them
    // at the next open by the store's own code (the path a file from before the tier takes).
    await conn.run('DROP TABLE luminaire_day');
    conn.closeSync();
    instance.closeSync();

    const open = await timed(() => openStore({ kind: 'embedded', path }));
    store = open.value;
    const inventory = programmeInventory(spec);
    const programme = await sequential(5, () => savings(store, spec, inventory), 1);
    await store.close();
    // The query it replaces: the same sums over every hour row of the 30 days (the tier before this one).
    const again = await DuckDBInstance.create(path);
    const rawConn = await again.connect();
    const hourSums = await sequential(3, () => duckdbHourSums(rawConn, PROGRAMME_START, PROGRAMME_START + spec.days * DAY_MS), 1);
    rawConn.closeSync();
    again.closeSync();
    reportProgramme(
      'embedded',
      spec,
      { hour_rows: load.value, load_s: load.ms / 1000, day_tier_build_s: open.ms / 1000, luminaires: programme.value.luminaires },
      programme.ms,
      hourSums.ms,
    );
    if (spec.luminaires < 100_000) await fullSizeFromDayRows(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function influxPart(sizes: Sizes): Promise<void> {
  const influx = await startInfluxDB();
  const database = 'store_reads';
  try {
    const store = await openStore({ kind: 'influxdb1', url: influx.url, database });
    try {
      const w = await timed(() => writeCity(store, sizes.city));
      report('influxdb1 city written', { points: w.value, points_per_s: w.value / (w.ms / 1000) });
      const { answer, p50 } = await municipalityDay('influxdb1', store, sizes);
      await apiClients('influxdb1', store, sizes.concurrentMs);
      const raw = await sequential(sizes.runs, () =>
        influxRawEnergy(influx.url, database, MUNICIPALITY_DAY.municipality, MUNICIPALITY_DAY.from, MUNICIPALITY_DAY.to),
      );
      assertSame('influxdb1', answer, raw.value);
      reportRaw('influxdb1', raw.ms, p50);
      const spec = sizes.influxProgramme;
      const load = await timed(() => loadProgrammeInflux(influx.url, database, spec, PROGRAMME_START));
      // Seconds per call on InfluxDB: one untimed call, three timed.
      const inventory = programmeInventory(spec);
      const programme = await sequential(3, () => savings(store, spec, inventory), 1);
      reportProgramme(
        'influxdb1',
        spec,
        { hour_rows: load.value, load_s: load.ms / 1000, luminaires: programme.value.luminaires },
        programme.ms,
      );
      // The savings cells (cell-tier.ts): the first call sums the days from the hour rows and packs
      // them (untimed), the timed ones read the packs; the same report as the luminaire path asserted.
      const fromCells = await sequential(5, () => savingsFromCells(store, spec, inventory, PROGRAMME_START), 2);
      assertSameReport('influxdb1', fromCells.value, programme.value);
      reportProgramme('influxdb1 cells', spec, { luminaires: fromCells.value.luminaires }, fromCells.ms, programme.ms);
      const full = await influxFullSizeCells(influx.url, PROGRAMME_START, programmeInventory, (runs, fn) => sequential(runs, fn, 1));
      reportProgramme('influxdb1 cells (packs loaded)', full.spec, { pack_points: full.points, load_s: full.loadMs / 1000 }, full.ms);
    } finally {
      await store.close();
    }
  } finally {
    await influx.stop();
  }
}

export const storeReadsBench: BenchModule = {
  name: 'store-reads',
  description:
    'energy from rollups vs the raw query it replaces (same answer asserted): a municipality-day alone and under 50 clients, and a programme over 30 days, embedded and InfluxDB 1.6',
  async run({ quick }) {
    const sizes: Sizes = quick
      ? {
          city: { luminaires: 300, neighbourLuminaires: 100 },
          programme: { luminaires: 10_000, days: 30, municipalities: 10 },
          influxProgramme: { luminaires: 1_000, days: 30, municipalities: 10 },
          runs: 10,
          concurrentMs: 2_000,
        }
      : {
          city: { luminaires: 2_000, neighbourLuminaires: 500 },
          programme: { luminaires: 100_000, days: 30, municipalities: 10 },
          influxProgramme: { luminaires: 5_000, days: 30, municipalities: 10 },
          runs: 30,
          concurrentMs: 8_000,
        };
    console.log(
      `   load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
    await embeddedPart(sizes);
    await influxPart(sizes);
  },
};
