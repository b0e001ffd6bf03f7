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
} from './options';
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
