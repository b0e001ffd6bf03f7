import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { FleetTracker } from './fleet';

export interface DashboardMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  storeErrors: Counter<'operation'>;
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
  };
}
