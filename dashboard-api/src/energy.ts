import type { LuminaireEnergy } from '@poste/telemetry-store';
import type { Inventory, Municipality } from './inventory';

/**
 * Energy and savings arithmetic (docs/architecture.md, energy and savings). Pure: store rows + inventory in, figures out.
 *
 * - measured = Σ activeEnergy deltas (the store's energyWh) / 1000
 * - retrofit baseline = Σ pre-retrofit lamp W × hours actually lit / 1000
 * - billing baseline = Σ pre-retrofit lamp W × the utility's estimated daily hours × days / 1000:
 *   the load registered with the distributor before telemanagement is the old lamps' load, so this
 *   is what estimated-hours billing charges; measured billing (ANEEL Despacho SRD 368/2020) pays
 *   the measured figure instead, and the difference is money.
 * - R$ and CO2 are per municipality (tariff, grid factor), then summed.
 *
 * Every figure is linear in per-luminaire contributions, so each rollup (municipality, gateway,
 * group) is a plain sum of its luminaires and the rollups add up to the totals.
 */

export interface EnergyTotals {
  /** luminaires with data in the range */
  luminaires: number;
  litHours: number;
  /** W, Σ baseline lamp power of these luminaires (the billing baseline's nominal load) */
  nominalLoadW: number;
  measuredKwh: number;
  baselineKwh: number;
  savedKwh: number;
  savedBrl: number;
  savedCo2Kg: number;
  billingBaselineKwh: number;
  billingSavedKwh: number;
  billingSavedBrl: number;
}

export interface MunicipalityRollup extends EnergyTotals {
  municipality: string;
  name: string;
}
export interface GatewayRollup extends EnergyTotals {
  gateway: string;
  municipality: string;
}
export interface GroupRollup extends EnergyTotals {
  /** group id as tagged by the gateway; '' for luminaires without a group */
  group: string;
  municipality: string;
}

export interface EnergyReport extends EnergyTotals {
  from: number;
  to: number;
  days: number;
  byMunicipality: MunicipalityRollup[];
  byGateway: GatewayRollup[];
  byGroup: GroupRollup[];
  /** rows whose municipality is not in the inventory: measured only, left out of every total */
  unassigned: { luminaires: number; measuredKwh: number };
}

const DAY_MS = 86_400_000;

export function emptyTotals(): EnergyTotals {
  return {
    luminaires: 0,
    litHours: 0,
    nominalLoadW: 0,
    measuredKwh: 0,
    baselineKwh: 0,
    savedKwh: 0,
    savedBrl: 0,
    savedCo2Kg: 0,
    billingBaselineKwh: 0,
    billingSavedKwh: 0,
    billingSavedBrl: 0,
  };
}

const TOTAL_KEYS = Object.keys(emptyTotals()) as (keyof EnergyTotals)[];

function addTo(t: EnergyTotals, c: EnergyTotals): void {
  // Only the numeric totals: rollups also carry their ids.
  for (const k of TOTAL_KEYS) t[k] += c[k];
}

/** The pre-retrofit lamp power of one luminaire: its own override, else its municipality's default. */
export function baselineWattsOf(luminaire: string, municipality: Municipality, inventory: Inventory): number {
  return inventory.luminaires[luminaire]?.baselineW ?? municipality.defaultBaselineW;
}

/** One luminaire's contribution to every total. */
export function luminaireContribution(
  row: Pick<LuminaireEnergy, 'energyWh' | 'litHours'>,
  baselineW: number,
  municipality: Municipality,
  days: number,
): EnergyTotals {
  const measuredKwh = row.energyWh / 1000;
  const baselineKwh = (baselineW * row.litHours) / 1000;
  const savedKwh = baselineKwh - measuredKwh;
  const billingBaselineKwh = (baselineW * municipality.estimatedDailyHours * days) / 1000;
  const billingSavedKwh = billingBaselineKwh - measuredKwh;
  return {
    luminaires: 1,
    litHours: row.litHours,
    nominalLoadW: baselineW,
    measuredKwh,
    baselineKwh,
    savedKwh,
    savedBrl: savedKwh * municipality.tariffBrlPerKwh,
    savedCo2Kg: savedKwh * municipality.co2KgPerKwh,
    billingBaselineKwh,
    billingSavedKwh,
    billingSavedBrl: billingSavedKwh * municipality.tariffBrlPerKwh,
  };
}

/** The municipality a store row belongs to: its own tag when the inventory knows it, else its gateway's. */
export function municipalityOf(row: Pick<LuminaireEnergy, 'municipality' | 'gateway'>, inventory: Inventory): Municipality | undefined {
  return inventory.municipality(row.municipality) ?? inventory.municipality(inventory.gateways[row.gateway] ?? '');
}

function rollup<R extends EnergyTotals>(map: Map<string, R>, key: string, make: () => R, c: EnergyTotals): void {
  let r = map.get(key);
  if (!r) {
    r = make();
    map.set(key, r);
  }
  addTo(r, c);
}

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** Totals and rollups over [from, to) from the store's per-luminaire energy rows. */
export function computeEnergy(rows: readonly LuminaireEnergy[], inventory: Inventory, range: { from: number; to: number }): EnergyReport {
  const days = Math.max(0, range.to - range.from) / DAY_MS;
  const totals = emptyTotals();
  const byMunicipality = new Map<string, MunicipalityRollup>();
  const byGateway = new Map<string, GatewayRollup>();
  const byGroup = new Map<string, GroupRollup>();
  const unassigned = { luminaires: 0, measuredKwh: 0 };

  for (const row of rows) {
    const m = municipalityOf(row, inventory);
    if (!m) {
      unassigned.luminaires += 1;
      unassigned.measuredKwh += row.energyWh / 1000;
      continue;
    }
    const c = luminaireContribution(row, baselineWattsOf(row.luminaire, m, inventory), m, days);
    addTo(totals, c);
    rollup(byMunicipality, m.id, () => ({ municipality: m.id, name: m.name, ...emptyTotals() }), c);
    rollup(byGateway, row.gateway, () => ({ gateway: row.gateway, municipality: m.id, ...emptyTotals() }), c);
    // Group ids are only meaningful inside a municipality's programme: key them by both.
    rollup(byGroup, `${m.id}\u0000${row.group}`, () => ({ group: row.group, municipality: m.id, ...emptyTotals() }), c);
  }

  return {
    from: range.from,
    to: range.to,
    days,
    ...totals,
    byMunicipality: [...byMunicipality.values()].sort(byKey((r) => r.municipality)),
    byGateway: [...byGateway.values()].sort(byKey((r) => r.gateway)),
    byGroup: [...byGroup.values()].sort(byKey((r) => `${r.municipality}\u0000${r.group}`)),
    unassigned,
  };
}

/** Rounding for presentation only (kWh and kg to 3 decimals, R$ to centavos); sums use full precision. */
export function roundTotals<T extends EnergyTotals>(t: T): T {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    ...t,
    litHours: r3(t.litHours),
    nominalLoadW: r3(t.nominalLoadW),
    measuredKwh: r3(t.measuredKwh),
    baselineKwh: r3(t.baselineKwh),
    savedKwh: r3(t.savedKwh),
    savedBrl: r2(t.savedBrl),
    savedCo2Kg: r3(t.savedCo2Kg),
    billingBaselineKwh: r3(t.billingBaselineKwh),
    billingSavedKwh: r3(t.billingSavedKwh),
    billingSavedBrl: r2(t.billingSavedBrl),
  };
}

export function roundReport(r: EnergyReport): EnergyReport {
  return {
    ...roundTotals(r),
    byMunicipality: r.byMunicipality.map(roundTotals),
    byGateway: r.byGateway.map(roundTotals),
    byGroup: r.byGroup.map(roundTotals),
    unassigned: { luminaires: r.unassigned.luminaires, measuredKwh: Math.round(r.unassigned.measuredKwh * 1000) / 1000 },
  };
}
