import type { Clock } from '@poste/protocol';
import type { StoreReader } from '@poste/telemetry-store';
import type { TokenStore } from './auth/token-store';
import type { CommandBook } from './commands/command-book';
import type { CommandDispatcher } from './commands/dispatcher';
import type { EventHub } from './events/event-hub';
import type { FaultBook } from './faults/fault-book';
import type { FinanceBook } from './finance/finance-book';
import type { HouseholdService } from './households/household-service';
import type { FleetTracker } from './fleet';
import type { Inventory } from './inventory';
import type { DashboardMetrics } from './metrics';
import type { QueryLimits } from './query-limits';
import type { ReadGate } from './read-gate';

/** What every route handler may use; built once by createDashboardApi. */
export interface RouteContext {
  store: StoreReader;
  fleet: FleetTracker;
  inventory: Inventory;
  clock: Clock;
  metrics: DashboardMetrics;
  limits: QueryLimits;
  /** every expensive store read goes through it (concurrency cap, queue, single flight, cache) */
  readGate: ReadGate;
  tokens: TokenStore;
  /** the live feed (SSE) */
  hub: EventHub;
  faults: FaultBook;
  commandBook: CommandBook;
  commands: CommandDispatcher;
  households: HouseholdService;
  finance: FinanceBook;
}
