// The store-reads bench's API part: the dashboard API on a store, 50 clients in a child process,
// and where its latency tail comes from (loop stall, GC pauses, the store calls renewing the cache).
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createDashboardApi, parseInventory } from '@poste/dashboard-api';
import type { TelemetryStore } from '@poste/telemetry-store';
import { percentile, report } from './bench-kit';
import { runFlood } from './load/run-flood';
import { MUNICIPALITY_DAY } from './store-reads-data';

/** GC pauses while observed: the longest, ms. */
function gcPauses(): { stop(): void; maxMs(): number } {
  let max = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) max = Math.max(max, e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  return { stop: () => obs.disconnect(), maxMs: () => max };
}

/** The store the API reads, with the duration of each read call recorded by operation while started. */
function storeCallTimer(store: TelemetryStore): {
  store: TelemetryStore;
  start(): void;
  stop(): void;
  byOperation(): Map<string, number[]>;
} {
  const byOp = new Map<string, number[]>();
  let on = false;
  const timedStore = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          if (on) {
            const ms = byOp.get(prop) ?? [];
            ms.push(performance.now() - t0);
            byOp.set(prop, ms);
          }
        }
      };
    },
  });
  return { store: timedStore, start: () => (on = true), stop: () => (on = false), byOperation: () => byOp };
}

/**
 * The same day through the dashboard API with its default query limits: 50 clients, each asking for
 * both municipalities' energy report and hourly series of the day, back to back. Identical requests
 * share one store query and, for a second, its answer, then the stale answer for up to staleMs while
 * one query renews it (the read gate), as 50 people looking at the same dashboard would.
 */
export async function apiClients(name: string, measured: TelemetryStore, durationMs: number): Promise<void> {
  const calls = storeCallTimer(measured);
  const api = await createDashboardApi({
    store: calls.store,
    inventory: parseInventory({
      municipalities: [
        { id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 },
        { id: 'ananindeua', name: 'Ananindeua', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 },
      ],
      gateways: {},
    }),
    clock: { now: () => MUNICIPALITY_DAY.to },
    logger: false,
    defaultMetrics: false,
    publicReads: true,
    // The steady state: the pack builder's start-up pass (every day of its horizon) is not measured here.
    packBuilder: { enabled: false },
  });
  const url = await api.listen({ port: 0 });
  const range = `from=${MUNICIPALITY_DAY.from}&to=${MUNICIPALITY_DAY.to}`;
  const paths = ['belem', 'ananindeua'].flatMap((m) => [
    `/api/v1/energy?municipality=${m}&${range}`,
    `/api/v1/energy/series?granularity=hour&municipality=${m}&${range}`,
  ]);
  try {
    // The dashboard has been opened once before the 50 people look at it, each with their connection
    // open: the cold first queries are timed alone above (municipality-day rollups), not here.
    for (const p of paths) await (await fetch(`${url}${p}`)).arrayBuffer();
    // The 50 clients run in a child process, as they run on other machines in a deployment: in this
    // process their fetch and parsing took the server's CPU and their own timers waited behind its
    // work, so the tail measured the clients as much as the API. This process holds the server and
    // its store only; its loop stall, GC pauses and store calls are what the API's tail is made of.
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const gc = gcPauses();
    loop.enable();
    calls.start();
    const flood = await runFlood({ url, clients: 50, durationMs, rangeDays: 1, paths });
    loop.disable();
    gc.stop();
    calls.stop();
    const errors = flood.requests - (flood.byStatus['200'] ?? 0);
    report(
      `${name} API 50 clients, same day`,
      {
        requests: flood.requests,
        errors,
        req_per_s: flood.requests / (durationMs / 1000),
        p50_ms: flood.okP50,
        p99_ms: flood.okP99,
        loop_stall_max_ms: loop.max / 1e6,
        gc_max_ms: gc.maxMs(),
      },
      'p99 ≤ 100 ms',
    );
    for (const [path, l] of Object.entries(flood.byPath ?? {})) {
      const what = `${path.includes('/series') ? 'series' : 'energy'} ${path.match(/municipality=(\w+)/)?.[1] ?? ''}`;
      report(`${name} API   ${what}`, { requests: l.requests, p50_ms: l.p50, p99_ms: l.p99, max_ms: l.max });
    }
    // The renewals behind the cached answers (the read gate renews each report about once a second).
    for (const [op, ms] of calls.byOperation()) {
      report(`${name} API   store ${op} (renewals)`, { calls: ms.length, p50_ms: percentile(ms, 50), max_ms: Math.max(...ms) });
    }
  } finally {
    await api.close();
  }
}
