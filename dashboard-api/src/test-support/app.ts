import { createDashboardApi, type DashboardApi } from '../app';
import { createFleetTracker, type FleetTracker } from '../fleet';
import type { Inventory } from '../inventory';
import type { QueryLimitsInput } from '../query-limits';
import { NOW, seededStore, testInventory } from './fixtures';
import type { MemoryStore } from '@poste/telemetry-store';

export interface TestApi {
  api: DashboardApi;
  store: MemoryStore;
  fleet: FleetTracker;
  inventory: Inventory;
}

/**
 * The API over the seeded memory store, a hand-fed fleet tracker and a clock fixed at NOW. The
 * energy cache is off unless `limits` turns it on: tests change the store between requests.
 */
export async function startTestApi(
  overrides: { store?: MemoryStore; fleet?: FleetTracker; limits?: QueryLimitsInput } = {},
): Promise<TestApi> {
  const store = overrides.store ?? (await seededStore());
  const fleet = overrides.fleet ?? createFleetTracker();
  const inventory = testInventory();
  const api = await createDashboardApi({
    store,
    fleet,
    inventory,
    clock: { now: () => NOW },
    logger: false,
    defaultMetrics: false,
    limits: { cacheTtlMs: 0, ...overrides.limits },
  });
  return { api, store, fleet, inventory };
}
