export { ClusterOptionsSchema, parseClusterOptions, type ClusterOptions, type ParsedClusterOptions } from './cluster-options';
export { ClusterPersistence, createRedisEngines, redactedUrl, type RedisEngines } from './redis-engines';
