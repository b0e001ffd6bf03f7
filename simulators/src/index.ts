export { SimClock, type SimClockOptions } from './sim-clock';
export { mulberry32, deriveSeed, type Prng } from './prng';
export {
  LuminaireModel,
  LUMINAIRE_FAULTS,
  DEFAULT_STANDBY_W,
  CYCLING_HALF_PERIOD_MS,
  driverEfficiency,
  powerFactor,
  litPowerW,
  type LuminaireFault,
  type LuminaireElectrics,
} from './luminaire-model';
export {
  LuminaireController,
  DEFAULT_FALLBACK_PROGRAM,
  fallbackProgram,
  programLevelAt,
  localMinuteOfDay,
  type FallbackProgram,
  type DimOverride,
} from './local-program';
export {
  ApModel,
  TRAFFIC_CLASSES,
  serveUnderPlan,
  bootPlan,
  diurnalShare,
  type ApParams,
  type ApFault,
  type ReserveSeconds,
} from './ap-model';
export { TelemedicineSessions, RECENT_SESSIONS, type TelemedicineSession, type TelemedicineSessionsSnapshot } from './telemedicine';
export {
  CityScenarioSchema,
  ScenarioMunicipalitySchema,
  ScenarioGatewaySchema,
  ScenarioGroupSchema,
  LUMINAIRE_MODELS,
  LUMINAIRE_FIRMWARE,
  AP_MODEL,
  AP_FIRMWARE,
  generateCity,
  defaultCityScenario,
  utcOffsetMinutes,
  type CityScenario,
  type CityScenarioInput,
  type LuminaireSpec,
  type ApSpec,
  type DeviceSpec,
  type GatewaySpec,
  type MunicipalitySpec,
  type GeneratedCity,
} from './scenario';
export { SimLuminaire, SimAp, type SimDevice, type SimFault, type DeviceOutput, type ReportLedger } from './sim-devices';
export {
  FleetEngine,
  type FleetEngineOptions,
  type OutputSink,
  type GroundTruth,
  type DeviceEnergyTruth,
  type EnergyTotals,
  type ApTruth,
  type WifiTotals,
} from './fleet-engine';
export { DeviceFleet, type DeviceFleetOptions, type FleetCounters, type FleetCheckpoint, type FleetStopOptions } from './device-fleet';
export {
  FleetSnapshotSchema,
  parseFleetSnapshot,
  type FleetSnapshot,
  type FleetEngineSnapshot,
  type DeviceSnapshot,
  type HeldMessage,
  type ProducedCounts,
  type ApReportLedger,
} from './snapshot';
export * from './ota/index';
