import type { StoreReader } from '@poste/telemetry-store';
import type { GroundTruthFile } from './checkpoint';

/** Relative energy difference accepted between the store and the ground truth. */
export const ENERGY_TOLERANCE = 0.001;

const MEASUREMENTS = ['luminaire', 'ap', 'event'] as const;

type WifiCounts = NonNullable<GroundTruthFile['wifi']>;

/** The store's Wi-Fi counters over [0, to): sums of the hourly AP rollups. */
async function storeWifi(store: StoreReader, to: number): Promise<WifiCounts> {
  const w: WifiCounts = { bytes: { household: 0, telemedicine: 0, public: 0 }, sessions: 0, reserveMeasuredS: 0, reserveHonouredS: 0 };
  for (const h of await store.apHours({ from: 0, to })) {
    for (const c of ['household', 'telemedicine', 'public'] as const) w.bytes[c] += h.bytes[c];
    w.sessions += h.telemedicineSessions;
    w.reserveMeasuredS += h.reserve.measuredS;
    w.reserveHonouredS += h.reserve.honouredS;
  }
  return w;
}

export interface Verification {
  ok: boolean;
  points: Record<(typeof MEASUREMENTS)[number], { truth: number; store: number }>;
  energy: { truthWh: number; storeWh: number; relativeDiff: number };
  /** Wi-Fi counters, exact (absent when the ground truth file predates them) */
  wifi?: { truth: WifiCounts; store: WifiCounts; equal: boolean };
  /** Human-readable, one line each. */
  lines: string[];
}

/**
 * Compares what a store holds up to the ground truth's instant with what the simulated devices
 * produced: points per measurement (the same series+ts counts once, so equal means nothing lost
 * and nothing extra) and energy from the cumulative counters (within ENERGY_TOLERANCE, unrounded).
 */
export async function verifyAgainstGroundTruth(store: StoreReader, gt: GroundTruthFile): Promise<Verification> {
  const to = gt.simTimeMs + 1;
  const points = {} as Verification['points'];
  for (const m of MEASUREMENTS) points[m] = { truth: gt.points[m], store: await store.countPoints(m, 0, to) };
  const storeWh = (await store.luminaireEnergy({ from: 0, to })).reduce((n, l) => n + l.energyWh, 0);
  const relativeDiff = gt.energyWh > 0 ? Math.abs(storeWh - gt.energyWh) / gt.energyWh : storeWh === 0 ? 0 : 1;
  const pointsOk = MEASUREMENTS.every((m) => points[m].store === points[m].truth);
  const wifi = gt.wifi ? { truth: gt.wifi, store: await storeWifi(store, to), equal: false } : undefined;
  if (wifi) wifi.equal = JSON.stringify(wifi.store) === JSON.stringify(wifi.truth);
  const ok = pointsOk && relativeDiff <= ENERGY_TOLERANCE && (wifi?.equal ?? true);
  const lines = [
    `ground truth as of ${gt.asOf} (simulated time)`,
    ...MEASUREMENTS.map((m) => {
      const { truth, store: s } = points[m];
      const diff = s - truth;
      return `  ${m.padEnd(10)} produced ${String(truth).padStart(9)}  in store ${String(s).padStart(9)}  ${diff === 0 ? 'ok' : diff < 0 ? `${-diff} missing` : `${diff} extra`}`;
    }),
    `  energy     produced ${gt.energyWh.toFixed(3)} Wh  in store ${storeWh.toFixed(3)} Wh  difference ${(relativeDiff * 100).toFixed(4)} % (tolerance ${ENERGY_TOLERANCE * 100} %)`,
  ];
  if (wifi) {
    const t = wifi.truth.bytes;
    const s = wifi.store.bytes;
    lines.push(
      `  wifi bytes household/public/telemedicine produced ${t.household}/${t.public}/${t.telemedicine}  in store ${s.household}/${s.public}/${s.telemedicine}`,
      `  telemedicine sessions produced ${wifi.truth.sessions}  in store ${wifi.store.sessions}; reserve honoured ${wifi.truth.reserveHonouredS}/${wifi.truth.reserveMeasuredS} s  in store ${wifi.store.reserveHonouredS}/${wifi.store.reserveMeasuredS} s  ${wifi.equal ? 'ok (exact)' : 'DIFFERENT'}`,
    );
  }
  if (!pointsOk && gt.heldByDevices > 0)
    lines.push(`  ${gt.heldByDevices} readings/events were still held by the devices: they are sent on the next start`);
  if (!pointsOk)
    lines.push(
      '  readings the agents still had (or the pipeline was still carrying) when the city stopped reach the store on the next start',
    );
  lines.push(ok ? 'MATCH' : 'MISMATCH');
  return { ok, points, energy: { truthWh: gt.energyWh, storeWh, relativeDiff }, ...(wifi ? { wifi } : {}), lines };
}
