import { Counter, Registry } from 'prom-client';

/**
 * Prometheus metrics of the broker and ingest. One registry per process by default (exported so a
 * /metrics endpoint can expose it); tests pass their own registry to read counters in isolation.
 */
export const posteRegistry = new Registry();

export interface PosteMetrics {
  registry: Registry;
  authSuccess: Counter<'role'>;
  authFailures: Counter<'reason'>;
  aclDenied: Counter<'action' | 'role'>;
  packetTooLarge: Counter;
  ingestPointsWritten: Counter<'measurement'>;
  ingestRejected: Counter<'reason'>;
  ingestWriteRetries: Counter;
  ingestWriteFailures: Counter<'kind'>;
}

const byRegistry = new WeakMap<Registry, PosteMetrics>();

/** The metrics in `registry`, created on first use (prom-client refuses to register a name twice). */
export function posteMetrics(registry: Registry = posteRegistry): PosteMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: PosteMetrics = {
    registry,
    authSuccess: new Counter({ name: 'poste_broker_auth_success_total', help: 'MQTT connections accepted', labelNames: ['role'], registers }),
    authFailures: new Counter({
      name: 'poste_broker_auth_failures_total',
      help: 'MQTT connections refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
    aclDenied: new Counter({
      name: 'poste_broker_acl_denied_total',
      help: 'publish/subscribe refused by the topic ACL',
      labelNames: ['action', 'role'],
      registers,
    }),
    packetTooLarge: new Counter({ name: 'poste_broker_packet_too_large_total', help: 'publishes over the size limit', registers }),
    ingestPointsWritten: new Counter({
      name: 'poste_ingest_points_written_total',
      help: 'points written to the telemetry store',
      labelNames: ['measurement'],
      registers,
    }),
    ingestRejected: new Counter({
      name: 'poste_ingest_rejected_total',
      help: 'dead-lettered messages or items, by reason',
      labelNames: ['reason'],
      registers,
    }),
    ingestWriteRetries: new Counter({ name: 'poste_ingest_write_retries_total', help: 'store write retries', registers }),
    ingestWriteFailures: new Counter({
      name: 'poste_ingest_write_failures_total',
      help: 'store writes that failed for good',
      labelNames: ['kind'],
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

/** Current value of a counter (summed over labels matching `labels`) — for stats and tests. */
export async function counterValue(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
