import type { InventoryInput } from '@poste/dashboard-api';
import type { GeneratedCity } from '@poste/simulators';

/**
 * Illustrative public-lighting (B4a) tariffs with taxes, R$/kWh, for the default scenario's
 * municipalities; an operator's inventory file carries the real figure from the utility bill.
 */
const EXAMPLE_TARIFFS_BRL_PER_KWH: Record<string, number> = { campinas: 0.62, belem: 0.84 };
const FALLBACK_TARIFF_BRL_PER_KWH = 0.7;
const FREE_POINTS_PER_MUNICIPALITY = 5;

/** The dashboard inventory for a generated city: municipalities, gateway map, per-luminaire baselines. */
export function inventoryForCity(city: GeneratedCity): InventoryInput {
  const luminaires: Record<string, { baselineW: number; lat: number; lon: number }> = {};
  for (const l of city.luminaires) luminaires[l.id] = { baselineW: l.baselineLampW, lat: l.lat, lon: l.lon };
  // The programme's free Wi-Fi points: the first five APs of each municipality (the five per municipality).
  const aps: Record<string, { lat: number; lon: number; freePoint: boolean; name: string }> = {};
  const freeSoFar = new Map<string, number>();
  for (const a of city.aps) {
    const n = freeSoFar.get(a.municipality) ?? 0;
    freeSoFar.set(a.municipality, n + 1);
    aps[a.id] = { lat: a.lat, lon: a.lon, freePoint: n < FREE_POINTS_PER_MUNICIPALITY, name: `Ponto ${a.id}` };
  }
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
    aps,
    gateways,
  };
}
