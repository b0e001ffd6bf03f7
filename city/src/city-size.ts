import { defaultCityScenario, type CityScenarioInput } from '@poste/simulators';
import { z } from 'zod';

/** The city's size on the command line (`--municipalities N …`); every field validated with its path. */
export const CitySizeSchema = z
  .object({
    municipalities: z.number().int().min(1).max(645).describe('municipalities (São Paulo state has 645)'),
    gatewaysPerMunicipality: z.number().int().min(1).max(10_000).describe('gateways (agents) per municipality'),
    luminairesPerGateway: z.number().int().min(0).max(100_000).describe('luminaire controllers per gateway'),
    apsPerGateway: z.number().int().min(0).max(10_000).describe('access points per gateway'),
  })
  .strict()
  .refine((s) => s.municipalities * s.gatewaysPerMunicipality <= 100_000, {
    message: 'at most 100,000 gateways in all (municipalities × gateways per municipality)',
    path: ['gatewaysPerMunicipality'],
  })
  .refine((s) => s.municipalities * s.gatewaysPerMunicipality * (s.luminairesPerGateway + s.apsPerGateway) <= 2_000_000, {
    message: 'at most 2,000,000 devices in all',
    path: ['luminairesPerGateway'],
  });
export type CitySize = z.output<typeof CitySizeSchema>;

/** What an unspecified size field is when another one is given. */
export const DEFAULT_CITY_SIZE: CitySize = { municipalities: 2, gatewaysPerMunicipality: 2, luminairesPerGateway: 100, apsPerGateway: 4 };

/** The first municipalities by name and place (the rest are numbered, spread over the state). */
const KNOWN = [
  { id: 'campinas', name: 'Campinas', lat: -22.9056, lon: -47.0608 },
  { id: 'sorocaba', name: 'Sorocaba', lat: -23.5015, lon: -47.4526 },
  { id: 'ribeirao-preto', name: 'Ribeirão Preto', lat: -21.1775, lon: -47.8103 },
  { id: 'santos', name: 'Santos', lat: -23.9608, lon: -46.3336 },
  { id: 'bauru', name: 'Bauru', lat: -22.3246, lon: -49.0871 },
  { id: 'jundiai', name: 'Jundiaí', lat: -23.1857, lon: -46.8978 },
  { id: 'piracicaba', name: 'Piracicaba', lat: -22.7253, lon: -47.6492 },
  { id: 'marilia', name: 'Marília', lat: -22.2171, lon: -49.9501 },
] as const;

/** Mixed into the default seed: a checkpoint of one size can never resume a city of another. */
function sizeSeed(base: number, s: CitySize): number {
  let h = 0x811c9dc5 ^ base;
  for (const n of [s.municipalities, s.gatewaysPerMunicipality, s.luminairesPerGateway, s.apsPerGateway]) {
    h = Math.imul(h ^ n, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/** A uniform city of `size` in São Paulo state, otherwise like the default scenario (start, steps, report interval). */
export function sizedCityScenario(size: CitySize, base: CityScenarioInput = defaultCityScenario): CityScenarioInput {
  const municipalities = Array.from({ length: size.municipalities }, (_, m) => {
    const known = KNOWN[m];
    // Numbered ones on a grid over the state (roughly 20°–25° S, 44°–53° W).
    const place = known ?? {
      id: `sp-${String(m + 1).padStart(3, '0')}`,
      name: `Município ${m + 1}`,
      lat: -20 - ((m * 7) % 50) / 10,
      lon: -44 - ((m * 13) % 90) / 10,
    };
    return {
      ...place,
      timeZone: 'America/Sao_Paulo',
      gateways: Array.from({ length: size.gatewaysPerMunicipality }, (_, g) => ({
        id: `${place.id}-gw${g + 1}`,
        luminaires: size.luminairesPerGateway,
        aps: size.apsPerGateway,
      })),
    };
  });
  return { ...base, seed: sizeSeed(base.seed, size), municipalities };
}
