import { DeviceIdSchema, GatewayIdSchema, GroupIdSchema, MunicipalityIdSchema, TimeZoneSchema, utcOffsetMinutes } from '@poste/protocol';
import { z } from 'zod';
import type { ApParams } from './ap-model';
import { fallbackProgram, type FallbackProgram } from './local-program';
import { deriveSeed, mulberry32 } from './prng';

export const ScenarioGroupSchema = z.object({
  id: GroupIdSchema.describe('lighting group id, as the scheduler config names it'),
  luminaires: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("luminaires in this group; groups fill in order, the gateway's remaining luminaires go to the last group"),
  roadClass: z
    .enum(['arterial', 'residential'])
    .default('residential')
    .describe('decides the luminaire model: arterial roads get the stronger ones'),
});

export const ScenarioGatewaySchema = z.object({
  id: GatewayIdSchema.describe('gateway id: MQTT client id and username of its agent'),
  luminaires: z.number().int().min(0).max(100_000).describe('luminaire controllers behind this gateway'),
  aps: z.number().int().min(0).max(10_000).describe('OpenWrt access points behind this gateway'),
  groups: z
    .array(ScenarioGroupSchema)
    .min(1)
    .optional()
    .describe('lighting groups; absent = {id}-arterial (20 % of the luminaires) and {id}-residential (the rest)'),
});

export const ScenarioMunicipalitySchema = z.object({
  id: MunicipalityIdSchema.describe('municipality id, as the dashboard inventory names it'),
  name: z.string().min(1).max(100).describe('display name'),
  timeZone: TimeZoneSchema.describe('IANA time zone: local program times and day boundaries'),
  lat: z.number().min(-90).max(90).describe('degrees north: sun times of the dimming programs'),
  lon: z.number().min(-180).max(180).describe('degrees east'),
  gateways: z.array(ScenarioGatewaySchema).min(1),
});

export const CityScenarioSchema = z.object({
  seed: z.number().int().describe('PRNG seed: the same seed gives the same city and the same readings'),
  start: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'ISO 8601 date-time')
    .describe('simulated start instant, ISO 8601 date-time'),
  speed: z.number().positive().default(1).describe('simulated seconds per real second'),
  reportIntervalS: z.number().int().min(1).max(86_400).default(60).describe('s between two readings of a device (simulated time)'),
  stepS: z.number().int().min(1).max(3_600).default(10).describe('model integration step, simulated s: power is constant within a step'),
  municipalities: z.array(ScenarioMunicipalitySchema).min(1),
});
export type CityScenario = z.output<typeof CityScenarioSchema>;
export type CityScenarioInput = z.input<typeof CityScenarioSchema>;

/** Catalogue of LED luminaire models, each with the sodium lamp it replaced (lamp + ballast W). */
export const LUMINAIRE_MODELS = [
  { model: 'Poste LX-60', nominalPowerW: 60, baselineLamp: 'HPS 100 W', baselineLampW: 115, roadClass: 'residential' },
  { model: 'Poste LX-90', nominalPowerW: 90, baselineLamp: 'HPS 150 W', baselineLampW: 170, roadClass: 'residential' },
  { model: 'Poste LX-120', nominalPowerW: 120, baselineLamp: 'HPS 250 W', baselineLampW: 280, roadClass: 'arterial' },
] as const;

export const LUMINAIRE_FIRMWARE = 'poste-lc 1.4.2';
export const AP_MODEL = 'OpenWrt 23.05 / Archer C6';
export const AP_FIRMWARE = 'openwrt-23.05.5';

export interface LuminaireSpec {
  kind: 'luminaire';
  id: string;
  municipality: string;
  gateway: string;
  group: string;
  model: string;
  firmware: string;
  nominalPowerW: number;
  /** Pre-retrofit lamp power incl. ballast, W: the dashboard's retrofit baseline. */
  baselineLampW: number;
  baselineLamp: string;
  supplyVoltageV: number;
  lat: number;
  lon: number;
  program: FallbackProgram;
  seed: number;
}

/** An AP of the city: its model parameters plus where it stands. */
export interface ApSpec extends ApParams {
  kind: 'ap';
  id: string;
  municipality: string;
  gateway: string;
  model: string;
  firmware: string;
  lat: number;
  lon: number;
  seed: number;
}

export type DeviceSpec = LuminaireSpec | ApSpec;

export interface GatewaySpec {
  id: string;
  municipality: string;
  luminaires: string[];
  aps: string[];
  groups: string[];
}

export interface MunicipalitySpec {
  id: string;
  name: string;
  timeZone: string;
  utcOffsetMinutes: number;
  lat: number;
  lon: number;
  gateways: string[];
}

export interface GeneratedCity {
  scenario: CityScenario;
  startMs: number;
  municipalities: MunicipalitySpec[];
  gateways: GatewaySpec[];
  luminaires: LuminaireSpec[];
  aps: ApSpec[];
  devices: DeviceSpec[];
}

export { utcOffsetMinutes };

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Groups a gateway's luminaires fall into when the scenario lists none. */
function defaultGroups(gatewayId: string, luminaires: number): z.output<typeof ScenarioGroupSchema>[] {
  return [
    { id: `${gatewayId}-arterial`, luminaires: Math.round(luminaires * 0.2), roadClass: 'arterial' },
    { id: `${gatewayId}-residential`, roadClass: 'residential' },
  ];
}

/** Deterministic device list of a scenario: same scenario (seed included) → identical city. */
export function generateCity(input: CityScenarioInput): GeneratedCity {
  const scenario = CityScenarioSchema.parse(input);
  const startMs = Date.parse(scenario.start);
  const city: GeneratedCity = { scenario, startMs, municipalities: [], gateways: [], luminaires: [], aps: [], devices: [] };
  for (const m of scenario.municipalities) {
    const offset = utcOffsetMinutes(m.timeZone, startMs);
    city.municipalities.push({
      id: m.id,
      name: m.name,
      timeZone: m.timeZone,
      utcOffsetMinutes: offset,
      lat: m.lat,
      lon: m.lon,
      gateways: m.gateways.map((g) => g.id),
    });
    for (const g of m.gateways) {
      const rng = mulberry32(deriveSeed(scenario.seed, `gateway:${g.id}`));
      const groups = g.groups ?? defaultGroups(g.id, g.luminaires);
      const gw: GatewaySpec = { id: g.id, municipality: m.id, luminaires: [], aps: [], groups: groups.map((x) => x.id) };
      let groupIndex = 0;
      let inGroup = 0;
      for (let i = 1; i <= g.luminaires; i++) {
        // Advance to the next group once this one is full; the last group takes the remainder.
        while (groupIndex < groups.length - 1 && inGroup >= (groups[groupIndex]?.luminaires ?? Infinity)) {
          groupIndex++;
          inGroup = 0;
        }
        const group = groups[groupIndex] ?? groups[0]!;
        inGroup++;
        const candidates = LUMINAIRE_MODELS.filter((x) => x.roadClass === group.roadClass);
        const model = rng.pick(candidates);
        const id = DeviceIdSchema.parse(`${g.id}-lum-${pad(i, 4)}`);
        const spec: LuminaireSpec = {
          kind: 'luminaire',
          id,
          municipality: m.id,
          gateway: g.id,
          group: group.id,
          model: model.model,
          firmware: LUMINAIRE_FIRMWARE,
          nominalPowerW: model.nominalPowerW,
          baselineLampW: model.baselineLampW,
          baselineLamp: model.baselineLamp,
          supplyVoltageV: Math.round(rng.range(219, 231) * 10) / 10,
          // Poles spread within ~2 km of the municipality centre.
          lat: m.lat + rng.range(-0.02, 0.02),
          lon: m.lon + rng.range(-0.02, 0.02),
          program: fallbackProgram(offset),
          seed: deriveSeed(scenario.seed, id),
        };
        gw.luminaires.push(id);
        city.luminaires.push(spec);
        city.devices.push(spec);
      }
      for (let i = 1; i <= g.aps; i++) {
        const id = DeviceIdSchema.parse(`${g.id}-ap-${pad(i, 3)}`);
        const capacityKbps = rng.pick([20_000, 50_000, 100_000]);
        const spec: ApSpec = {
          kind: 'ap',
          id,
          municipality: m.id,
          gateway: g.id,
          model: AP_MODEL,
          firmware: AP_FIRMWARE,
          capacityKbps,
          householdReserveKbps: Math.round(capacityKbps * rng.range(0.4, 0.6)),
          publicCapKbps: Math.round(capacityKbps * rng.range(0.2, 0.3)),
          peakDemandKbps: {
            household: Math.round(capacityKbps * rng.range(0.6, 1.1)),
            telemedicine: Math.round(rng.range(1_500, 4_000)),
            public: Math.round(capacityKbps * rng.range(0.2, 0.5)),
          },
          peakClients: { household: rng.int(3, 8), telemedicine: rng.int(1, 2), public: rng.int(5, 25) },
          utcOffsetMinutes: offset,
          lat: m.lat + rng.range(-0.02, 0.02),
          lon: m.lon + rng.range(-0.02, 0.02),
          seed: deriveSeed(scenario.seed, id),
        };
        gw.aps.push(id);
        city.aps.push(spec);
        city.devices.push(spec);
      }
      city.gateways.push(gw);
    }
  }
  const ids = new Set<string>();
  for (const d of city.devices) {
    if (ids.has(d.id)) throw new Error(`generateCity: duplicate device id ${d.id} (gateway ids must be unique)`);
    ids.add(d.id);
  }
  return city;
}

/**
 * Two municipalities, three gateways, 240 luminaires, 12 APs; speed 1200 (a 12 h night in 36 s, ~5k
 * readings/s). Starts 17:00 local (20:00 UTC) so a
 * run covers dusk, the night (dimming after midnight) and dawn.
 */
export const defaultCityScenario: CityScenarioInput = {
  seed: 20240601,
  start: '2024-06-01T20:00:00Z',
  speed: 1200,
  reportIntervalS: 60,
  stepS: 10,
  municipalities: [
    {
      id: 'campinas',
      name: 'Campinas',
      timeZone: 'America/Sao_Paulo',
      lat: -22.9056,
      lon: -47.0608,
      gateways: [
        { id: 'cps-gw1', luminaires: 100, aps: 4 },
        { id: 'cps-gw2', luminaires: 60, aps: 4 },
      ],
    },
    {
      id: 'belem',
      name: 'Belém',
      timeZone: 'America/Belem',
      lat: -1.4558,
      lon: -48.4902,
      gateways: [{ id: 'bel-gw1', luminaires: 80, aps: 4 }],
    },
  ],
};
