// `@poste/telemetry-store/testing`: what a backend's tests (and other packages' tests) need to
// check a store: the contract suite, its point fixtures, and a private influxd for the InfluxDB backends.
export { describeStoreContract, type StoreContractOptions } from './store-contract';
export { apPoint, chunks, eventPoint, luminairePoint, shuffled } from './fixtures';
export { startInfluxDB, type RunningInfluxDB, type StartInfluxDBOptions } from './influxd';
export { startV2WriteBridge, type RunningV2Bridge } from './influxd-v2-bridge';
export { freePort, waitFor } from './ports';
export { loadTierDays } from '../embedded/day-tier-load';
// the InfluxDB savings cells' packs, for the store-reads benchmark's 100,000-luminaire load
export { cellDirectoryPoint, cellPackPoints, cellsFrom } from '../influxql/cell-packs';
