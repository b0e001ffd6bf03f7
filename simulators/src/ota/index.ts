export { type HealthCheck, OtaDevice, type OtaDeviceOptions, simulatedSelfTest } from './ota-device';
export { type BootEnv, PowerCut, type SlotName, SlotStorage, type SlotStorageOptions } from './slot-storage';
export { OtaLanDevice, type OtaLanDeviceOptions } from './ota-lan-device';
