export { createDashboardApi, DASHBOARD_API_VERSION, type DashboardApi, type DashboardApiOptions } from './app';
export {
  createFleetTracker,
  connectFleetTracker,
  type FleetTracker,
  type ConnectedFleetTracker,
  type FleetLinkOptions,
  type FleetSnapshot,
  type FleetStats,
  type FleetLogger,
  type OnlineOffline,
  type FleetChange,
  type FleetDevice,
} from './fleet';
export {
  parseInventory,
  loadInventory,
  InventorySchema,
  MunicipalitySchema,
  InventoryError,
  DEFAULT_BASELINE_W,
  DEFAULT_CO2_KG_PER_KWH,
  DEFAULT_ESTIMATED_DAILY_HOURS,
  type Inventory,
  type InventoryInput,
  type Municipality,
} from './inventory';
export {
  computeEnergy,
  roundReport,
  luminaireContribution,
  baselineWattsOf,
  municipalityOf,
  type EnergyReport,
  type EnergyTotals,
  type MunicipalityRollup,
  type GatewayRollup,
  type GroupRollup,
} from './energy';
export { baselineSourceOf, computeEnergyFromCells } from './energy-cells';
export {
  EnergyQuerySchema,
  EnergyReportSchema,
  FleetSnapshotSchema,
  BadRequestSchema,
  HealthSchema,
  parseTimeParam,
} from './api-schemas';
export { buildOpenApiDocument, type RouteDoc } from './openapi';
export {
  QueryLimitsSchema,
  QueryLimitsError,
  DEFAULT_QUERY_LIMITS,
  parseQueryLimits,
  type QueryLimits,
  type QueryLimitsInput,
} from './query-limits';
export { QUERY_LIMIT_FLAGS, queryLimitArgOptions, queryLimitsFromFlags, queryLimitUsage, type QueryLimitFlag } from './query-limit-flags';
export {
  PackBuilderSchema,
  startPackBuilder,
  type PackBuilder,
  type PackBuilderInput,
  type PackBuilderOptions,
  type PackPassReport,
} from './pack-builder';
export { createReadGate, GateBusyError, GateTimeoutError, type ReadGate, type ReadGateOptions } from './read-gate';
export { DASHBOARD_PAGE_CSP } from './routes/web';
export { PAGE_HTML as DASHBOARD_PAGE_HTML } from './web/page-html';
export { ROLES, RoleSchema, roleAtLeast, type Role, type Access } from './auth/roles';
export { createTokenStore, TokenFileError, type TokenStore, type TokenInfo, type Principal } from './auth/token-store';
export { ensureAdminToken } from './auth/admin-token';
export { createEventHub, type EventHub, type LiveEvent, type LiveEventType } from './events/event-hub';
