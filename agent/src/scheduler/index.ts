// Public surface of @poste/agent/scheduler (docs/architecture.md, "Bandwidth sharing"). Pure computation, no I/O.
export { nextSunEvent, sunEventOnUtcDay, SunCache } from './sun';
export type { SunEventKind } from './sun';
export {
  allocateBandwidth,
  allocateBandwidthBatch,
  toBandwidthBatch,
  CLASS_HOUSEHOLD,
  CLASS_TELEMEDICINE,
  CLASS_PUBLIC,
} from './allocate-bandwidth';
export type { AccessPointDemand, FlowDemand, FlowClass, BandwidthBatch, BatchAllocation } from './allocate-bandwidth';
export { bandwidthPlan } from './bandwidth-plan';
export type { BandwidthPlan, ClassShape, FlowShape } from './bandwidth-plan';
export { DimmingEngine } from './dimming-engine';
export type { LuminaireSpec, DimmingChanges, ApplyResult } from './dimming-engine';
export {
  SchedulerConfigSchema,
  ProgramSchema,
  ProgramStepSchema,
  CalendarSchema,
  GroupSchema,
  LightingClassSchema,
  DynamicControlSchema,
  OverrideSchema,
  CloSchema,
  parseSchedulerConfig,
  parseOverride,
  formatPath,
} from './config-schema';
export type {
  SchedulerConfig,
  SchedulerConfigInput,
  Program,
  ProgramStep,
  Calendar,
  DynamicControl,
  Override,
  OverrideInput,
  CloConfig,
  ConfigError,
  ParseResult,
} from './config-schema';
export { TimeZone, isValidTimeZone } from './time-zone';
export { cloFactor } from './program-table';
export { PerObjectDimming } from './per-object-dimming';
