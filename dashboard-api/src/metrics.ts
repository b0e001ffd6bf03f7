import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { FleetTracker } from './fleet';

export interface DashboardMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  storeErrors: Counter<'operation'>;
  /** requests answered 503 by the read gate (busy) */
  readsShed: Counter<'route'>;
  /** requests answered 504: the store did not answer within the per-request time-out */
  readTimeouts: Counter<'route'>;
  /** expensive store queries running now / requests waiting for a slot */
  readsInFlight: Gauge;
  readsQueued: Gauge;
  /** how expensive reads were served: query, shared (joined one in flight), cached, stale (expired, renewing in the background) */
  readsServed: Counter<'how'>;
}

/**
 * Registers the dashboard's metrics on `registry`. Fleet figures are read at scrape time from the
 * tracker (no second copy of state to keep in sync). One dashboard per registry: names are fixed.
 */
export function createDashboardMetrics(registry: Registry, fleet: FleetTracker, opts: { defaultMetrics: boolean }): DashboardMetrics {
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  new Gauge({
    name: 'poste_fleet_devices',
    help: 'Gateways, luminaires and APs by reachability (devices are online only while their gateway is)',
    labelNames: ['kind', 'status'] as const,
    registers,
    collect() {
      const s = fleet.snapshot();
      for (const kind of ['gateways', 'luminaires', 'aps'] as const) {
        this.set({ kind, status: 'online' }, s[kind].online);
        this.set({ kind, status: 'offline' }, s[kind].offline);
      }
    },
  });

  let invalidSeen = 0;
  new Counter({
    name: 'poste_fleet_invalid_messages_total',
    help: 'State messages rejected by the fleet tracker (invalid payload or unexpected topic)',
    registers,
    collect() {
      const now = fleet.stats().invalid;
      if (now > invalidSeen) this.inc(now - invalidSeen);
      invalidSeen = now;
    },
  });

  new Gauge({
    name: 'poste_fleet_link_connected',
    help: '1 when the fleet tracker is connected to the broker, 0 when not, -1 when fed in-process',
    registers,
    collect() {
      const c = fleet.linkConnected();
      this.set(c === null ? -1 : c ? 1 : 0);
    },
  });

  return {
    registry,
    httpRequests: new Counter({
      name: 'poste_dashboard_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'poste_dashboard_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    }),
    storeErrors: new Counter({
      name: 'poste_dashboard_store_errors_total',
      help: 'Telemetry store calls that failed',
      labelNames: ['operation'] as const,
      registers,
    }),
    readsShed: new Counter({
      name: 'poste_dashboard_reads_shed_total',
      help: 'Expensive reads refused with 503 + Retry-After: every query slot busy and the wait queue full, or the wait outlasted the time-out',
      labelNames: ['route'] as const,
      registers,
    }),
    readTimeouts: new Counter({
      name: 'poste_dashboard_read_timeouts_total',
      help: 'Expensive reads answered 504: the store did not answer within the per-request time-out (the late result is dropped)',
      labelNames: ['route'] as const,
      registers,
    }),
    readsInFlight: new Gauge({
      name: 'poste_dashboard_reads_in_flight',
      help: 'Expensive store queries running now (at most the max-concurrent limit)',
      registers,
    }),
    readsQueued: new Gauge({
      name: 'poste_dashboard_reads_queued',
      help: 'Expensive reads waiting for a query slot (at most the max-queued limit)',
      registers,
    }),
    readsServed: new Counter({
      name: 'poste_dashboard_reads_served_total',
      help: "Expensive reads by how they were served: 'query' ran one, 'shared' joined an identical one in flight, 'cached' reused a fresh result, 'stale' answered an expired one within staleMs while it is renewed",
      labelNames: ['how'] as const,
      registers,
    }),
  };
}
