import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DeviceIdSchema, GatewayIdSchema, MunicipalityIdSchema, TimeZoneSchema, formatPayloadError, toPayloadError } from '@poste/protocol';

/**
 * Default grid emission factor, kg CO2 per kWh: the MCTI (SIRENE) annual average emission factor
 * of Brazil's National Interconnected System (SIN) for 2023, 0.0385 tCO2/MWh — the "inventory"
 * (average) method, which is the one meant for quantifying the emissions of consumed electricity.
 * Configure per municipality to use a newer year or the monthly factor.
 */
export const DEFAULT_CO2_KG_PER_KWH = 0.0385;

/**
 * Default ANEEL estimated daily burning hours used for billing unmetered public lighting: 11h52
 * (11.866 h), the former national default. ANEEL's per-municipality figures are 11h22–11h29.
 */
export const DEFAULT_ESTIMATED_DAILY_HOURS = 11.866;

/** A 150 W high-pressure sodium lamp plus ~20 W of magnetic ballast losses. */
export const DEFAULT_BASELINE_W = 170;
/** Spare uplink a free Wi-Fi point should keep: one video call (≈ 2 Mbit/s) with room to spare. */
export const DEFAULT_WIFI_QUALITY_KBPS = 3_000;

export const MunicipalitySchema = z.object({
  id: MunicipalityIdSchema.describe('topic-safe id, unique; the municipality tag of stored points'),
  name: z.string().min(1).max(200).describe('display name'),
  timeZone: TimeZoneSchema.default('America/Sao_Paulo').describe("IANA time zone, checked against the runtime's time-zone data"),
  tariffBrlPerKwh: z.number().min(0).max(100).describe('R$/kWh, public-lighting tariff (B4a) incl. taxes as billed'),
  co2KgPerKwh: z.number().min(0).max(2).default(DEFAULT_CO2_KG_PER_KWH).describe('kg CO2/kWh grid emission factor'),
  estimatedDailyHours: z
    .number()
    .min(0)
    .max(24)
    .default(DEFAULT_ESTIMATED_DAILY_HOURS)
    .describe('h/day the utility bills unmetered lighting for (ANEEL)'),
  defaultBaselineW: z.number().min(0).max(100_000).default(DEFAULT_BASELINE_W).describe('W, pre-retrofit lamp power incl. ballast losses'),
  wifiQualityKbps: z
    .number()
    .min(0)
    .max(10_000_000)
    .default(DEFAULT_WIFI_QUALITY_KBPS)
    .describe('kbit/s: a free Wi-Fi point offering less spare capacity than this is below quality (listed, and a fault)'),
});
export type Municipality = z.output<typeof MunicipalitySchema>;

const Lat = z.number().min(-90).max(90).describe('degrees north (WGS 84)');
const Lon = z.number().min(-180).max(180).describe('degrees east (WGS 84)');

export const LuminaireOverrideSchema = z.object({
  baselineW: z
    .number()
    .min(0)
    .max(100_000)
    .optional()
    .describe("W, pre-retrofit lamp power incl. ballast losses (default: the municipality's)"),
  lat: Lat.optional(),
  lon: Lon.optional(),
});

export const ApEntrySchema = z.object({
  lat: Lat.optional(),
  lon: Lon.optional(),
  freePoint: z
    .boolean()
    .default(false)
    .describe("one of the programme's free Wi-Fi points (uptime, clients and spare capacity are reported)"),
  name: z.string().min(1).max(200).optional().describe('where it is, for the free points table'),
});

export const InventorySchema = z
  .object({
    municipalities: z.array(MunicipalitySchema).min(1),
    luminaires: z
      .record(DeviceIdSchema, LuminaireOverrideSchema)
      .default({})
      .describe('per-luminaire baseline override and pole coordinates (the map), keyed by luminaire id'),
    aps: z.record(DeviceIdSchema, ApEntrySchema).default({}).describe('access points: coordinates and free Wi-Fi points, keyed by AP id'),
    gateways: z
      .record(GatewayIdSchema, MunicipalityIdSchema)
      .default({})
      .describe('gateway id → municipality id: the fleet filter, and the fallback for energy rows without a known municipality'),
  })
  .superRefine((inv, ctx) => {
    const ids = new Set<string>();
    inv.municipalities.forEach((m, i) => {
      if (ids.has(m.id)) ctx.addIssue({ code: 'custom', path: ['municipalities', i, 'id'], message: `duplicate municipality id ${m.id}` });
      ids.add(m.id);
    });
    for (const [gw, mun] of Object.entries(inv.gateways)) {
      if (!ids.has(mun)) ctx.addIssue({ code: 'custom', path: ['gateways', gw], message: `unknown municipality ${mun}` });
    }
  });
export type InventoryInput = z.input<typeof InventorySchema>;

/** The validated inventory plus lookups the energy module needs. */
export interface Inventory {
  municipalities: Municipality[];
  luminaires: Record<string, { baselineW?: number | undefined; lat?: number | undefined; lon?: number | undefined }>;
  aps: Record<string, { lat?: number | undefined; lon?: number | undefined; freePoint: boolean; name?: string | undefined }>;
  gateways: Record<string, string>;
  municipality(id: string): Municipality | undefined;
}

export class InventoryError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'InventoryError';
  }
}

/** Validates an inventory object; throws InventoryError naming the offending path. */
export function parseInventory(input: unknown, source = 'inventory'): Inventory {
  const r = InventorySchema.safeParse(input);
  if (!r.success) {
    const e = toPayloadError(r.error);
    throw new InventoryError(`${source}: ${formatPayloadError(e)}`, e.path);
  }
  const byId = new Map(r.data.municipalities.map((m) => [m.id, m]));
  return { ...r.data, municipality: (id) => byId.get(id) };
}

/** Reads and validates an inventory JSON file; errors name the file and the path inside it. */
export async function loadInventory(file: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InventoryError(`${file}: cannot read: ${(err as Error).message}`, '');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InventoryError(`${file}: not JSON: ${(err as Error).message}`, '');
  }
  return parseInventory(json, file);
}
