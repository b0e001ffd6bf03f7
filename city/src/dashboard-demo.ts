import { readFile } from 'node:fs/promises';
import type { SimFault } from '@poste/simulators';
import type { City } from './city';

/**
 * What `npm start` shows on the dashboard within a minute, entered through the dashboard API as
 * an operator would (admin token, audited like any request): CIP/COSIP revenue for the last 12
 * months and the LED investment per municipality, three households per municipality ceding part of
 * their Wi-Fi (one all day, one in the evening, one at night), and luminaire faults at a steady
 * rate in simulated time (lamp failure, day burner, cycling, a street circuit losing supply),
 * repaired a few simulated hours later.
 */
export interface DashboardDemoOptions {
  /** file holding an admin token (the city's admin-token) */
  adminTokenFile: string;
  /** simulated minutes between two injected faults (default 20) */
  faultEveryMin?: number;
  /** simulated hours until an injected fault is repaired (default 3) */
  repairAfterH?: number;
  /** illustrative CIP/COSIP per luminaire and month, R$ (default 9.5) */
  cipPerLuminaireBrl?: number;
  /** illustrative LED retrofit cost per luminaire, R$ (default 1,450) */
  retrofitPerLuminaireBrl?: number;
}

export interface DashboardDemo {
  readonly households: number;
  faultsInjected(): number;
  /** Stops injecting and repairs the faults still open (call before the city stops). */
  stop(): void;
}

const ROTATION: SimFault[] = ['lampFailure', 'dayBurner', 'cyclingFailure', 'supplyLoss'];
const MIN = 60_000;

export async function startDashboardDemo(city: City, opts: DashboardDemoOptions): Promise<DashboardDemo> {
  const token = (await readFile(opts.adminTokenFile, 'utf8')).trim();
  const call = async (method: 'PUT' | 'POST', url: string, payload: object) => {
    const r = await city.api.app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json() as unknown;
  };
  const g = city.generated;
  const now = city.clock.now();
  const month = (back: number) => {
    const d = new Date(now);
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() - back);
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  };
  for (const m of g.municipalities) {
    const n = g.luminaires.filter((l) => l.municipality === m.id).length;
    for (let back = 0; back < 12; back++) {
      await call('PUT', `/api/v1/finance/${m.id}/revenue/${month(back)}`, { cipBrl: Math.round(n * (opts.cipPerLuminaireBrl ?? 9.5)) });
    }
    await call('PUT', `/api/v1/finance/${m.id}/investment`, { ledRetrofitBrl: n * (opts.retrofitPerLuminaireBrl ?? 1_450) });
  }

  // Households need their AP seen on its gateway first (device births arrive within seconds).
  const deadline = Date.now() + 30_000;
  const seen = () => new Set(city.fleetTracker.devices().map((d) => d.device));
  while (Date.now() < deadline && !g.aps.every((a) => seen().has(a.id))) await new Promise((r) => setTimeout(r, 250));
  const windows = [[], [{ from: '18:00', to: '24:00' }], [{ from: '22:00', to: '06:00' }]];
  let households = 0;
  for (const m of g.municipalities) {
    const aps = g.aps.filter((a) => a.municipality === m.id && seen().has(a.id));
    // Households' own APs: after the five free points when there are more, else the first ones.
    const pick = aps.length > 5 ? aps.slice(5, 8) : aps.slice(0, 3);
    for (const [i, ap] of pick.entries()) {
      await call('POST', '/api/v1/households', {
        name: `Domicílio ${i + 1} · ${m.name}`,
        ap: ap.id,
        cededKbps: Math.round(ap.capacityKbps * 0.3),
        windows: windows[i % windows.length],
        consent: { accepted: true, termsVersion: 'poste-2024-1' },
      }).then(
        () => (households += 1),
        () => undefined,
      );
    }
  }

  // Faults on a steady simulated-time schedule, each repaired later.
  const everyMs = (opts.faultEveryMin ?? 20) * MIN;
  const repairMs = (opts.repairAfterH ?? 3) * 60 * MIN;
  let next = city.clock.now() + 2 * MIN;
  let injected = 0;
  const open: { at: number; devices: string[]; fault: SimFault }[] = [];
  const timer = setInterval(() => {
    const t = city.clock.now();
    while (open.length && open[0]!.at <= t) {
      const f = open.shift()!;
      for (const d of f.devices) city.fleet.clearFault(d, f.fault);
    }
    if (t < next || open.length >= 50) return;
    next = t + everyMs;
    const fault = ROTATION[injected % ROTATION.length]!;
    const lum = g.luminaires[(injected * 7919) % g.luminaires.length]!;
    // supplyLoss: a street circuit — three neighbours on the same gateway lose supply together.
    const devices =
      fault === 'supplyLoss'
        ? g.luminaires
            .filter((l) => l.gateway === lum.gateway)
            .slice(0, 3)
            .map((l) => l.id)
        : [lum.id];
    for (const d of devices) city.fleet.injectFault(d, fault);
    open.push({ at: t + repairMs, devices, fault });
    injected += 1;
  }, 500);
  timer.unref();
  return {
    households,
    faultsInjected: () => injected,
    stop() {
      clearInterval(timer);
      // Repair what is still broken: an unpowered luminaire cannot hand over its readings while the city stops.
      for (const f of open.splice(0)) for (const d of f.devices) city.fleet.clearFault(d, f.fault);
    },
  };
}
