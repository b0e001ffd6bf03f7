import { createHash } from 'node:crypto';
import type { BaselineSource, CellSums, EnergyCells } from '@poste/telemetry-store';
import {
  computeEnergy,
  emptyTotals,
  type EnergyReport,
  type EnergyTotals,
  type GatewayRollup,
  type GroupRollup,
  type MunicipalityRollup,
  totalsOf,
} from './energy';
import type { Inventory } from './inventory';

/**
 * The savings report from a store's per-gateway and per-group sums (TelemetryStore.energyCells)
 * instead of one row per luminaire: the same figures (energy.ts), since every figure is linear in
 * the per-luminaire terms the cells sum. Municipalities the store answered with luminaire rows go
 * through computeEnergy and are added in.
 */
export function computeEnergyFromCells(cells: EnergyCells, inventory: Inventory, range: { from: number; to: number }): EnergyReport {
  const report = computeEnergy(cells.rows, inventory, range);
  const days = report.days;
  const municipalities = new Map<string, MunicipalityRollup>(report.byMunicipality.map((r) => [r.municipality, r]));
  const gateways = new Map<string, GatewayRollup>(report.byGateway.map((r) => [r.gateway, r]));
  const groups = new Map<string, GroupRollup>(report.byGroup.map((r) => [`${r.municipality}\u0000${r.group}`, r]));

  const byTag = new Map<string, Array<CellSums & { gateway: string }>>();
  for (const c of cells.byGateway) byTag.set(c.municipality, [...(byTag.get(c.municipality) ?? []), c]);
  // In municipality order, as computeEnergy adds them (its rows come sorted): the same float sums.
  for (const [tag, list] of [...byTag].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const m = inventory.municipality(tag);
    // The store sums only municipalities the baselines assign (the inventory's): others are rows.
    if (!m) throw new Error(`energy cells of ${tag}, a municipality the inventory does not know`);
    const all: CellSums = { luminaires: 0, energyWh: 0, litHours: 0, baselineW: 0, baselineWh: 0 };
    for (const c of [...list].sort((a, b) => (a.gateway < b.gateway ? -1 : a.gateway > b.gateway ? 1 : 0))) {
      all.luminaires += c.luminaires;
      all.energyWh += c.energyWh;
      all.litHours += c.litHours;
      all.baselineW += c.baselineW;
      all.baselineWh += c.baselineWh;
      add(gateways, c.gateway, () => ({ gateway: c.gateway, municipality: m.id, ...emptyTotals() }), totalsOf(c, m, days));
    }
    const mine = totalsOf(all, m, days);
    add(report, '', () => report, mine);
    add(municipalities, m.id, () => ({ municipality: m.id, name: m.name, ...emptyTotals() }), mine);
  }
  for (const c of cells.byGroup) {
    const m = inventory.municipality(c.municipality);
    if (!m) throw new Error(`energy cells of ${c.municipality}, a municipality the inventory does not know`);
    add(groups, `${m.id}\u0000${c.group}`, () => ({ group: c.group, municipality: m.id, ...emptyTotals() }), totalsOf(c, m, days));
  }
  const by =
    <T>(key: (t: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  return {
    ...report,
    byMunicipality: [...municipalities.values()].sort(by((r) => r.municipality)),
    byGateway: [...gateways.values()].sort(by((r) => r.gateway)),
    byGroup: [...groups.values()].sort(by((r) => `${r.municipality}\u0000${r.group}`)),
  };
}

const TOTAL_KEYS = Object.keys(emptyTotals()) as (keyof EnergyTotals)[];

/** Adds `c` to the entry of `key` (made by `make` when absent); a map of one entry when `map` is the report itself. */
function add<R extends EnergyTotals>(map: Map<string, R> | R, key: string, make: () => R, c: EnergyTotals): void {
  let r: R;
  if (map instanceof Map) {
    r = map.get(key) ?? make();
    map.set(key, r);
  } else r = map;
  for (const k of TOTAL_KEYS) r[k] += c[k];
}

const sources = new WeakMap<Inventory, BaselineSource>();

/**
 * The inventory's baselines as the store's cell sums need them: a luminaire's override, else its
 * municipality's default; the version is a hash of every default and override, so sums a store
 * kept under other baselines are not used.
 */
export function baselineSourceOf(inventory: Inventory): BaselineSource {
  let source = sources.get(inventory);
  if (!source) {
    const overrides = Object.entries(inventory.luminaires)
      .filter(([, l]) => l.baselineW !== undefined)
      .map(([id, l]) => [id, l.baselineW] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const defaults = inventory.municipalities
      .map((m) => [m.id, m.defaultBaselineW] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const version = createHash('sha256')
      .update(JSON.stringify([defaults, overrides]))
      .digest('hex')
      .slice(0, 24);
    const table = new Map(overrides);
    source = {
      version,
      assigns: (municipality) => inventory.municipality(municipality) !== undefined,
      wattsOf: (municipality, luminaire) => table.get(luminaire) ?? inventory.municipality(municipality)?.defaultBaselineW,
    };
    sources.set(inventory, source);
  }
  return source;
}
