// The InfluxDB savings query from the store's savings cells (telemetry-store/src/influxql/cell-tier.ts),
// for the store-reads benchmark: beside the luminaire path at the programme's size (same report
// asserted, unrounded), and at the target's size (100,000 luminaires × 30 days) from cell packs
// loaded directly — the hour rows behind them would be 72 M points, hours to load into influxd here.
import { baselineSourceOf, computeEnergy, computeEnergyFromCells, type EnergyReport, type Inventory } from '@poste/dashboard-api';
import { type LuminaireEnergy, openStore, type TelemetryStore, toLineProtocol } from '@poste/telemetry-store';
import { cellDirectoryPoint, cellPackPoints, cellsFrom } from '@poste/telemetry-store/testing';
import { DAY_MS, HOUR_MS, type ProgrammeSpec } from './store-reads-data';

/** The savings report (GET /api/v1/energy's) from the store's cells; throws if the store would not answer from them. */
export async function savingsFromCells(
  store: TelemetryStore,
  spec: ProgrammeSpec,
  inventory: Inventory,
  start: number,
): Promise<EnergyReport> {
  const range = { from: start, to: start + spec.days * DAY_MS };
  const cells = await store.energyCells?.(range, baselineSourceOf(inventory));
  if (!cells) throw new Error(`${store.kind}: no savings cells for whole days`);
  const report = computeEnergyFromCells(cells, inventory, range);
  if (report.luminaires !== spec.luminaires)
    throw new Error(`cells: savings over ${report.luminaires} luminaires, ${spec.luminaires} loaded`);
  return report;
}

/** Both reports must be the same, figure by figure, unrounded (the programme's values are exact in binary). */
export function assertSameReport(what: string, a: EnergyReport, b: EnergyReport): void {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  if (x !== y) throw new Error(`${what}: the cells' report differs from the luminaire rows'\n${x.slice(0, 400)}\n${y.slice(0, 400)}`);
}

/**
 * A programme luminaire's day as loadProgrammeInflux's hour rows sum it (24 rows of 40 Wh, 1 h lit,
 * 4 readings), except that its municipality is its gateway's, as in a real programme (the
 * inventory maps each gateway to one municipality): loadProgrammeInflux spreads every gateway's
 * luminaires over all municipalities, which multiplies the gateway cells by the municipalities.
 */
function dayRow(spec: ProgrammeSpec, l: number, day: number): LuminaireEnergy {
  return {
    municipality: `m${Math.floor((l * spec.municipalities) / spec.luminaires)}`,
    gateway: `gw${Math.floor(l / 100)}`,
    luminaire: `lum${l}`,
    group: `g${l % 8}`,
    energyWh: 960,
    litHours: 24,
    points: 96,
    firstTs: day,
    lastTs: day + 23 * HOUR_MS + 2_700_000,
  };
}

/**
 * Cell packs of a programme (every luminaire reporting every day) written straight into `db`,
 * made by the tier's own code (cellsFrom, cellPackPoints) from the day rows its hour rows would
 * sum to; with each day's directory of municipalities. Returns the points written.
 */
export async function loadProgrammeCells(
  url: string,
  db: string,
  spec: ProgrammeSpec,
  start: number,
  inventory: Inventory,
): Promise<number> {
  const created = await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, { method: 'POST' });
  if (created.status !== 200) throw new Error(`CREATE DATABASE: HTTP ${created.status}`);
  const baselines = baselineSourceOf(inventory);
  const byMunicipality = new Map<string, LuminaireEnergy[]>();
  for (let l = 0; l < spec.luminaires; l++) {
    const r = dayRow(spec, l, start);
    byMunicipality.set(r.municipality, [...(byMunicipality.get(r.municipality) ?? []), r]);
  }
  const cells = new Map([...byMunicipality].map(([m, rows]) => [m, cellsFrom(m, rows, baselines)!]));
  let written = 0;
  for (let d = 0; d < spec.days; d++) {
    const day = start + d * DAY_MS;
    const points = [...cells].flatMap(([m, c]) => cellPackPoints(m, day, baselines.version, 0, c));
    const directory = cellDirectoryPoint(day, baselines.version, [...cells.keys()].sort());
    if (directory) points.push(directory);
    const res = await fetch(`${url}/write?db=${db}&precision=ms`, { method: 'POST', body: points.map(toLineProtocol).join('\n') });
    if (res.status !== 204) throw new Error(`influx write ${res.status}: ${await res.text()}`);
    written += points.length;
  }
  return written;
}

/** What the luminaire path's report would be for that programme (computeEnergy over its 30-day rows). */
export function expectedProgrammeReport(spec: ProgrammeSpec, inventory: Inventory, start: number): EnergyReport {
  const rows = Array.from({ length: spec.luminaires }, (_, l) => {
    const r = dayRow(spec, l, start);
    return {
      ...r,
      energyWh: r.energyWh * spec.days,
      litHours: r.litHours * spec.days,
      points: r.points * spec.days,
      lastTs: r.lastTs + (spec.days - 1) * DAY_MS,
    };
  }).sort((a, b) =>
    a.municipality < b.municipality ? -1 : a.municipality > b.municipality ? 1 : a.gateway < b.gateway ? -1 : a.gateway > b.gateway ? 1 : 0,
  );
  return computeEnergy(rows, inventory, { from: start, to: start + spec.days * DAY_MS });
}

/** The 100,000 × 30 d savings on InfluxDB from packs loaded directly; the same figures as the luminaire rows asserted. */
export async function influxFullSizeCells(
  url: string,
  start: number,
  inventoryOf: (spec: ProgrammeSpec) => Inventory,
  time: (runs: number, fn: () => Promise<EnergyReport>) => Promise<{ ms: number[]; value: EnergyReport }>,
): Promise<{ spec: ProgrammeSpec; points: number; loadMs: number; ms: number[] }> {
  const spec: ProgrammeSpec = { luminaires: 100_000, days: 30, municipalities: 10 };
  const inventory = inventoryOf(spec);
  const t0 = performance.now();
  const points = await loadProgrammeCells(url, 'programme_cells', spec, start, inventory);
  const loadMs = performance.now() - t0;
  const store = await openStore({ kind: 'influxdb1', url, database: 'programme_cells' });
  try {
    const r = await time(5, () => savingsFromCells(store, spec, inventory, start));
    assertSameReport('influxdb1 100k', r.value, expectedProgrammeReport(spec, inventory, start));
    return { spec, points, loadMs, ms: r.ms };
  } finally {
    await store.close();
  }
}
