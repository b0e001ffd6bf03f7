import type { InventoryInput } from '@poste/dashboard-api';
import type { GeneratedCity } from '@poste/simulators';

/**
 * Illustrative public-lighting (B4a) tariffs with taxes, R$/kWh, for the default scenario's
 * municipalities; an operator's inventory file carries the real figure from the utility bill.
 */
const EXAMPLE_TARIFFS_BRL_PER_KWH: Record<string, number> = { campinas: 0.62, belem: 0.84 };
const FALLBACK_TARIFF_BRL_PER_KWH = 0.7;

/** The dashboard inventory for a generated city: municipalities, gateway map, per-luminaire baselines. */
export function inventoryForCity(city: GeneratedCity): InventoryInput {
  const luminaires: Record<string, { baselineW: number }> = {};
  for (const l of city.luminaires) luminaires[l.id] = { baselineW: l.baselineLampW };
  const gateways: Record<string, string> = {};
  for (const g of city.gateways) gateways[g.id] = g.municipality;
  return {
    municipalities: city.municipalities.map((m) => ({
      id: m.id,
      name: m.name,
      timeZone: m.timeZone,
      tariffBrlPerKwh: EXAMPLE_TARIFFS_BRL_PER_KWH[m.id] ?? FALLBACK_TARIFF_BRL_PER_KWH,
    })),
    luminaires,
    gateways,
  };
}
