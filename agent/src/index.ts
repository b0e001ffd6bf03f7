export { startAgent, AGENT_VERSION, type Agent, type AgentStats } from './core/agent';
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
  SpoolOptionsSchema,
  MetricsOptionsSchema,
  type SchedulerConfigValidator,
  DimmingOptionsSchema,
  type DimmingOptionsInput,
} from './core/options';
export { CURRENT_CONFIG_VERSION, migrateAgentSettings, type MigrationResult } from './core/settings-migration';
export { loadAgentConfig, type LoadedConfig } from './core/config-file';
export { DeviceRegistry, type DeviceRecord } from './core/device-registry';
export { CommandRelay, actionOf, type CommandStats } from './core/command-relay';
export type { AppliedConfig } from './core/desired-config';
export type { InboxStats } from './core/device-inbox';
export type { AdapterStats } from './core/adapter-set';
export type { ExtensionStats } from './core/extension-set';
export type { RejectionSource } from './core/rejections';
export { systemTimers, type Timers, type TimerHandle } from './core/timers';
export type { BatchLimits, DeliveryStats, SpoolView } from './uplink/delivery';
export type { NorthStats } from './uplink/north-link';
export { STATE_FILE } from './core/state-store';
export { backoffDelayMs } from './uplink/backoff';
export {
  DEVICE_ADAPTERS,
  ADAPTER_KINDS,
  AdapterConfigSchema,
  AdapterConfigListSchema,
  type AdapterKind,
  type AdapterConfig,
  type AdapterConfigInput,
} from './adapters/registry';
export { adapterConfigBase, AdapterNameSchema } from './adapters/config-base';
export type { AdapterSink, AdapterContext, DeviceAdapter, AdapterDescriptor, SinkResult } from './adapters/types';
export {
  posteAdapter,
  PosteAdapterConfigSchema,
  type PosteAdapterConfig,
  generateDeviceSecret,
  hashDeviceSecret,
  parseDeviceCredentials,
  DeviceCredentialsFileSchema,
} from './adapters/poste';
export { tasmotaAdapter, TasmotaAdapterConfigSchema, type TasmotaAdapterConfig } from './adapters/tasmota';
export {
  openWrtAdapter,
  OpenWrtAdapterConfigSchema,
  type OpenWrtAdapterConfig,
  type OpenWrtApConfig,
  tcCommands,
  planMessage,
} from './adapters/openwrt';
export {
  bandwidthExtension,
  BANDWIDTH_EXTENSION_NAME,
  DEFAULT_BANDWIDTH_SETTINGS,
  planFor,
  type BandwidthSettings,
  type BandwidthStats,
  type ApPolicy,
} from './extensions/bandwidth';
export type { AgentExtension, AgentHost, OtaHostPort, RunningExtension } from './extensions/types';
export { OTA_EXTENSION_NAME, otaExtension, type OtaExtensionOptions, type OtaRelayStats } from './extensions/ota';
export { type HealthProbes, SelfUpdater, type SelfUpdaterOptions } from './extensions/ota/self/self-updater';
export { type AgentSlot, type SlotState, SlotStateSchema } from './extensions/ota/self/slot-state';
export {
  dimmingExtension,
  attachDimming,
  schedulerConfigValidator,
  DEFAULT_DIMMING_LEASE_MS,
  DEFAULT_DIMMING_TICK_MS,
  DEFAULT_DIMMING_MAX_IN_FLIGHT,
  type DimmingSettings,
  type DimmingRunner,
  type DimmingOptions,
  type DimmingStats,
  type DimmingHost,
} from './extensions/dimming';
