export * from './types';
export { StoreWriteError, PartialWriteError, StoreSpecError, isRetryableWriteError, type RefusedPoint } from './errors';
export { defineStoreBackend, type StoreBackend, type StoreConfigObjectSchema } from './backend';
export {
  openStore,
  parseStoreConfig,
  parseStoreSpec,
  storeBackend,
  storeKinds,
  storeSpecHelp,
  StoreConfigSchema,
  STORE_BACKENDS,
  type ParsedStoreConfig,
  type StoreConfig,
  type StoreKind,
} from './registry';
export { embedded, EmbeddedStore, EmbeddedStoreConfigSchema, type EmbeddedStoreConfig } from './embedded/index';
export { influxdb1, InfluxDB1Store, InfluxDB1StoreConfigSchema, type InfluxDB1StoreConfig } from './influxdb1/index';
export { influxdb2, InfluxDB2Store, InfluxDB2StoreConfigSchema, type InfluxDB2StoreConfig } from './influxdb2/index';
export { memory, MemoryStore, MemoryStoreConfigSchema, type MemoryStoreConfig } from './memory/index';
export { CounterAccumulator, counterDelta, sumCounterDeltas, type CounterSample } from './counter-deltas';
export { SERIES_KEY_TAGS, MEASUREMENTS, UNGROUPED } from './measurements';
export { toLineProtocol } from './line-protocol';
export { retryWithBackoff, backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './retry';
