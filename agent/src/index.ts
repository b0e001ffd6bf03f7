export { startAgent, AGENT_VERSION, type Agent, type AgentStats } from './agent';
export {
  AgentOptionsSchema,
  AgentFileOptionsSchema,
  NorthOptionsSchema,
  LocalOptionsSchema,
  NorthTlsSchema,
  ReconnectSchema,
  type AgentOptions,
  type AgentFileOptions,
  type ResolvedAgentOptions,
  type SchedulerConfigValidator,
  DimmingOptionsSchema,
  type DimmingOptionsInput,
} from './options';
export {
  attachDimming,
  schedulerConfigValidator,
  DEFAULT_DIMMING_LEASE_MS,
  DEFAULT_DIMMING_TICK_MS,
  DEFAULT_DIMMING_MAX_IN_FLIGHT,
  type DimmingRunner,
  type DimmingOptions,
  type DimmingStats,
  type DimmingHost,
} from './dimming-runner';
export { DeviceRegistry, type DeviceRecord } from './device-registry';
export { TelemetryBuffer, type ItemBuffer, type BatchLimits } from './telemetry-buffer';
export { CommandRelay, actionOf, type CommandStats } from './command-relay';
export { type AppliedConfig } from './desired-config';
export { type NorthStats } from './north-link';
export { type InboxStats } from './device-inbox';
export { type RejectionSource } from './rejections';
export { backoffDelayMs } from './backoff';
export { systemTimers, type Timers, type TimerHandle } from './timers';
export { loadAgentConfig } from './config-file';
