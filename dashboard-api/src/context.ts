import type { Clock } from '@poste/protocol';
import type { StoreReader } from '@poste/telemetry-store';
import type { FleetTracker } from './fleet';
import type { Inventory } from './inventory';
import type { DashboardMetrics } from './metrics';

/** What every route handler may use; built once by createDashboardApi. */
export interface RouteContext {
  store: StoreReader;
  fleet: FleetTracker;
  inventory: Inventory;
  clock: Clock;
  metrics: DashboardMetrics;
}
