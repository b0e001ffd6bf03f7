// The dashboard API under 50 concurrent clients: each client loops over the page's requests (fleet,
// energy of the last 24 h, energy per day over 30 days, faults, commands, whoami) with a viewer
// token, waiting for each answer before the next (as the page does). Baseline from the same run:
// one client alone. Server and clients share this process (and 2 cores with whatever else runs):
// the figures are an upper bound on latency, not a capacity claim.
import { createDashboardApi } from '@poste/dashboard-api';
import { MemoryStore } from '@poste/telemetry-store';
import { luminairePoint } from '@poste/telemetry-store/testing';
import { type BenchModule, percentile, report } from './bench-kit';

const HOUR = 3_600_000;
const NOW = Date.UTC(2024, 5, 2);
const PATHS = [
  '/api/v1/fleet',
  '/api/v1/energy',
  '/api/v1/energy/series?granularity=day',
  '/api/v1/faults?state=active',
  '/api/v1/commands?limit=10',
  '/api/v1/whoami',
];

async function run(
  url: string,
  headers: Record<string, string>,
  clients: number,
  durationMs: number,
): Promise<{ ms: number[]; errors: number }> {
  const ms: number[] = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; performance.now() < end; i++) {
        const t0 = performance.now();
        const res = await fetch(`${url}${PATHS[i % PATHS.length]}`, { headers });
        await res.arrayBuffer();
        if (res.status === 200) ms.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  return { ms, errors };
}

export const dashboardApiBench: BenchModule = {
  name: 'dashboard-api',
  description: 'API p50/p99 under 50 concurrent clients (page request mix), against one client alone',
  async run({ quick }) {
    const luminaires = quick ? 200 : 2_000;
    const store = new MemoryStore();
    const points = [];
    for (let i = 0; i < luminaires; i++) {
      const tags = { municipality: 'belem', gateway: `gw-${i % 20}`, luminaire: `lum-${i}`, group: `g${i % 8}` };
      for (let h = 0; h < 48; h += 4) points.push(luminairePoint(tags, NOW - 48 * HOUR + h * HOUR, 1_000 + h * 60, 100 + h));
    }
    await store.write(points);
    const api = await createDashboardApi({
      store,
      inventory: (await import('@poste/dashboard-api')).parseInventory({
        municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 }],
        gateways: Object.fromEntries(Array.from({ length: 20 }, (_, g) => [`gw-${g}`, 'belem'])),
      }),
      clock: { now: () => NOW },
      logger: false,
      defaultMetrics: false,
    });
    const url = await api.listen({ port: 0 });
    const { token } = await api.tokens.create({ name: 'bench', role: 'viewer' });
    const headers = { authorization: `Bearer ${token}` };
    try {
      const durationMs = quick ? 2_000 : 10_000;
      await run(url, headers, 4, 1_000); // warm-up
      const alone = await run(url, headers, 1, durationMs);
      const many = await run(url, headers, 50, durationMs);
      const p = (xs: number[], q: number) => percentile(xs, q);
      report('dashboard-api 1 client (baseline)', {
        luminaires,
        requests: alone.ms.length,
        p50_ms: p(alone.ms, 50),
        p99_ms: p(alone.ms, 99),
      });
      report('dashboard-api 50 clients', {
        luminaires,
        requests: many.ms.length,
        errors: many.errors,
        req_per_s: many.ms.length / (durationMs / 1000),
        p50_ms: p(many.ms, 50),
        p99_ms: p(many.ms, 99),
        p50_ratio: p(many.ms, 50) / p(alone.ms, 50),
      });
    } finally {
      await api.close();
    }
  },
};
