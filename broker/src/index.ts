export {
  createBroker,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type BrokerHooks,
  type BrokerOptions,
  type PosteBroker,
  type PublishGate,
} from './broker/broker';
export { canPublish, canSubscribe } from './broker/acl';
export { followCredentialsFile } from './broker/follow-credentials';
export { watchCredentials, type CredentialsWatch, type CredentialsWatchOptions } from './credentials/watch';
export { BrokerGuardConfigSchema, parseGuardConfig, type BrokerGuardConfig, type BrokerGuardOptions } from './guard/guard-config';
export type { BrokerGuard } from './guard/broker-guard';
export {
  FilePersistence,
  FilePersistenceOptionsSchema,
  type FilePersistenceOptions,
  type FilePersistenceStats,
} from './persistence/file-persistence';
export * from './credentials/index';
export {
  ClusterOptionsSchema,
  ClusterPersistence,
  parseClusterOptions,
  redactedUrl,
  type ClusterOptions,
  type ParsedClusterOptions,
} from './cluster/index';
export { createIngest, type Ingest, type IngestOptions, type IngestStats } from './ingest/ingest';
export type { DeadLetterReason, DeadLetterSample } from './ingest/dead-letter';
export { DEFAULT_MAX_DEVICES_PER_GATEWAY, type DeviceInventory, type FleetOptions, type QuarantineReason } from './ingest/fleet-registry';
export type { QuarantineSample, QuarantineStats } from './ingest/quarantine';
export type { BatchSink } from './ingest/batcher';
export { apPoint, eventPoint, luminairePoint, type Origin } from './ingest/points';
export { posteMetrics, posteRegistry, counterValue, type PosteMetrics } from './metrics';
