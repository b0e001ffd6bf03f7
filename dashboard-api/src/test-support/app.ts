import { createDashboardApi, type DashboardApi } from '../app';
import type { Role } from '../auth/roles';
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
  /** a fresh token of that role, as `Authorization` headers for inject/fetch */
  auth(role: Role): Promise<{ authorization: string }>;
}

/**
 * The API over the seeded memory store, a hand-fed fleet tracker and a clock fixed at NOW. The
 * energy cache is off unless `limits` turns it on: tests change the store between requests.
 * Aggregate reads are public unless `publicReads: false` (most route tests are about figures, not access).
 */
export async function startTestApi(
  overrides: {
    store?: MemoryStore;
    fleet?: FleetTracker;
    limits?: QueryLimitsInput;
    publicReads?: boolean;
    dataDir?: string;
    clock?: { now(): number };
  } = {},
): Promise<TestApi> {
  const store = overrides.store ?? (await seededStore());
  const fleet = overrides.fleet ?? createFleetTracker();
  const inventory = testInventory();
  const api = await createDashboardApi({
    store,
    fleet,
    inventory,
    clock: overrides.clock ?? { now: () => NOW },
    logger: false,
    defaultMetrics: false,
    limits: { cacheTtlMs: 0, ...overrides.limits },
    publicReads: overrides.publicReads ?? true,
    ...(overrides.dataDir !== undefined ? { dataDir: overrides.dataDir } : {}),
  });
  const auth = async (role: Role) => {
    const { token } = await api.tokens.create({ name: `test ${role}`, role });
    return { authorization: `Bearer ${token}` };
  };
  return { api, store, fleet, inventory, auth };
}
