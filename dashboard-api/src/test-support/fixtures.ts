import { parseInventory, type Inventory } from '../inventory';
import { MemoryStore, type Point } from '@poste/telemetry-store';
import { luminairePoint } from '@poste/telemetry-store/testing';

/** Fixed instant so windows and defaults are reproducible: 2024-06-02T00:00:00Z. */
export const NOW = Date.UTC(2024, 5, 2);
export const HOUR = 3_600_000;

export function testInventory(): Inventory {
  return parseInventory({
    municipalities: [
      {
        id: 'belem',
        name: 'Belém',
        timeZone: 'America/Belem',
        tariffBrlPerKwh: 0.8,
        co2KgPerKwh: 0.0385,
        estimatedDailyHours: 11.4,
        defaultBaselineW: 170,
      },
      { id: 'santarem', name: 'Santarém', timeZone: 'America/Santarem', tariffBrlPerKwh: 0.5 },
    ],
    luminaires: { 'lum-b2': { baselineW: 290 } },
    aps: { 'ap-1': { freePoint: true, name: 'Praça da República', lat: -1.45, lon: -48.49 } },
    gateways: { 'gw-b': 'belem', 'gw-s': 'santarem' },
  });
}

/**
 * Two municipalities over the 24 h before NOW. Per luminaire: two readings 10 h apart.
 * - lum-b1 (belem, gw-b, group av): 600 Wh, 10 h lit, baseline 170 W (municipal default)
 * - lum-b2 (belem, gw-b, group av): 900 Wh, 10 h lit, baseline 290 W (override)
 * - lum-s1 (santarem, gw-s): 500 Wh, 10 h lit, baseline 170 W (schema default)
 */
export async function seededStore<S extends MemoryStore = MemoryStore>(store: S = new MemoryStore() as S): Promise<S> {
  const t0 = NOW - 20 * HOUR;
  const t1 = NOW - 10 * HOUR;
  const b = { municipality: 'belem', gateway: 'gw-b', group: 'av' };
  const s = { municipality: 'santarem', gateway: 'gw-s' };
  await store.write([
    luminairePoint({ ...b, luminaire: 'lum-b1' }, t0, 10_000, 100),
    luminairePoint({ ...b, luminaire: 'lum-b1' }, t1, 10_600, 110),
    luminairePoint({ ...b, luminaire: 'lum-b2' }, t0, 20_000, 200),
    luminairePoint({ ...b, luminaire: 'lum-b2' }, t1, 20_900, 210),
    luminairePoint({ ...s, luminaire: 'lum-s1' }, t0, 5_000, 50),
    luminairePoint({ ...s, luminaire: 'lum-s1' }, t1, 5_500, 60),
  ]);
  return store;
}

/** An AP reading of ap-1 (belem, gw-b) with cumulative bytes per class (and, given, its coproduction counters). */
export function apReadingPoint(
  ts: number,
  bytes: { household: number; telemedicine: number; public: number },
  capacityKbps = 50_000,
  coproduction?: { sessions: number; measuredS: number; honouredS: number },
): Point {
  return {
    measurement: 'ap',
    tags: { municipality: 'belem', gateway: 'gw-b', ap: 'ap-1' },
    fields: {
      capacityKbps,
      uptime: 100,
      clientsHousehold: 2,
      clientsTelemedicine: 1,
      clientsPublic: 3,
      bytesHousehold: bytes.household,
      bytesTelemedicine: bytes.telemedicine,
      bytesPublic: bytes.public,
      ...(coproduction
        ? {
            telemedicineSessions: coproduction.sessions,
            reserveKbps: 20_000,
            reserveMeasuredS: coproduction.measuredS,
            reserveHonouredS: coproduction.honouredS,
          }
        : {}),
    },
    ts,
  };
}
