import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  /** connections refused at accept (max-connections, max-per-address, max-unauthenticated) */
  connectionsRefused: Counter<'reason'>;
  /** connections cut by the stream guard (packet-too-large, too-much-before-auth, malformed-length, connect-deadline) */
  guardClosed: Counter<'reason'>;
  /** logins answered from the cache of recent successes (no password hashing) */
  loginCacheHits: Counter;
  /** clients disconnected for publishing faster than allowed, by the limit hit (messages, bytes) */
  publishRateExceeded: Counter<'limit'>;
  /** retained publishes refused (client disconnected) over a gateway's quota, by the limit hit (messages, bytes) */
  retainedQuotaExceeded: Counter<'limit'>;
  /** credentials file reloads, by outcome (applied, refused) */
  credentialsReloads: Counter<'outcome'>;
  /** connected clients disconnected because their credential was revoked or removed */
  revokedDisconnects: Counter;
  /** open MQTT connections (TCP + TLS) */
  connectionsOpen: Gauge;
  ingestPointsWritten: Counter<'measurement'>;
  ingestRejected: Counter<'reason'>;
  ingestWriteRetries: Counter;
  ingestWriteFailures: Counter<'kind'>;
  /** seconds per store.write call; path = direct (a fresh batch) or drain (from the spool) */
  ingestWriteSeconds: Histogram<'path'>;
  /** points per batch handed to the store or the spool */
  ingestBatchPoints: Histogram;
  ingestPartialWrites: Counter;
  ingestPartialRefusedPoints: Counter;
  ingestSpooledBatches: Counter;
  ingestSpoolDrainedBatches: Counter;
  ingestSpoolDrainedPoints: Counter;
  /** batches that waited for room in a full spool (their PUBACKs held) */
  ingestSpoolFullWaits: Counter;
  /** publishes refused without PUBACK because too many were already waiting */
  ingestBackpressureRefused: Counter;
  ingestSpoolDepth: Gauge;
  ingestSpoolBytes: Gauge;
  ingestSpoolOldestAgeSeconds: Gauge;
  ingestHeldMessages: Gauge;
  /** what the held-messages gauge reads when scraped (ingest sets it: a gauge set per publish cost the hot path) */
  ingestHeld: { current: (() => number) | undefined };
  /** what the spool gauges read when scraped; ingest sets it while it runs with a spool */
  ingestSpoolProbe: { current: (() => IngestSpoolReading) | undefined };
}

/** What the spool gauges show. */
export interface IngestSpoolReading {
  depthBatches: number;
  bytes: number;
  oldestAgeSeconds: number;
}

const byRegistry = new WeakMap<Registry, PosteMetrics>();

/** The metrics in `registry`, created on first use (prom-client refuses to register a name twice). */
export function posteMetrics(registry: Registry = posteRegistry): PosteMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const probe: PosteMetrics['ingestSpoolProbe'] = { current: undefined };
  const held: PosteMetrics['ingestHeld'] = { current: undefined };
  const spoolGauge = (name: string, help: string, pick: (r: IngestSpoolReading) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const reading = probe.current?.();
        this.set(reading ? pick(reading) : 0);
      },
    });
  const m: PosteMetrics = {
    registry,
    authSuccess: new Counter({
      name: 'poste_broker_auth_success_total',
      help: 'MQTT connections accepted',
      labelNames: ['role'],
      registers,
    }),
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
    connectionsRefused: new Counter({
      name: 'poste_broker_connections_refused_total',
      help: 'connections refused at accept, by the cap reached',
      labelNames: ['reason'],
      registers,
    }),
    guardClosed: new Counter({
      name: 'poste_broker_guard_closed_total',
      help: 'connections closed by the stream guard before their bytes reached the MQTT parser, by reason',
      labelNames: ['reason'],
      registers,
    }),
    loginCacheHits: new Counter({
      name: 'poste_broker_login_cache_hits_total',
      help: 'logins answered from the cache of recent successes',
      registers,
    }),
    publishRateExceeded: new Counter({
      name: 'poste_broker_publish_rate_exceeded_total',
      help: 'clients disconnected for publishing over their rate, by limit',
      labelNames: ['limit'],
      registers,
    }),
    retainedQuotaExceeded: new Counter({
      name: 'poste_broker_retained_quota_exceeded_total',
      help: "retained publishes refused over a gateway's quota, by limit",
      labelNames: ['limit'],
      registers,
    }),
    credentialsReloads: new Counter({
      name: 'poste_broker_credentials_reloads_total',
      help: 'credentials file reloads, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    revokedDisconnects: new Counter({
      name: 'poste_broker_revoked_disconnects_total',
      help: 'clients disconnected because their credential was revoked or removed',
      registers,
    }),
    connectionsOpen: new Gauge({ name: 'poste_broker_connections_open', help: 'open MQTT connections (TCP + TLS)', registers }),
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
    ingestWriteSeconds: new Histogram({
      name: 'poste_ingest_write_seconds',
      help: 'latency of one telemetry store write, by path (direct or drain from the spool)',
      labelNames: ['path'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    ingestBatchPoints: new Histogram({
      name: 'poste_ingest_batch_points',
      help: 'points per batch written to the store or spooled',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    ingestPartialWrites: new Counter({
      name: 'poste_ingest_partial_writes_total',
      help: 'store writes that wrote some points and refused others',
      registers,
    }),
    ingestPartialRefusedPoints: new Counter({
      name: 'poste_ingest_partial_refused_points_total',
      help: 'points refused by the store within partial writes',
      registers,
    }),
    ingestSpooledBatches: new Counter({
      name: 'poste_ingest_spooled_batches_total',
      help: 'batches written to the ingest disk spool',
      registers,
    }),
    ingestSpoolDrainedBatches: new Counter({
      name: 'poste_ingest_spool_drained_batches_total',
      help: 'spooled batches delivered to the store',
      registers,
    }),
    ingestSpoolDrainedPoints: new Counter({
      name: 'poste_ingest_spool_drained_points_total',
      help: 'points of spooled batches written to the store',
      registers,
    }),
    ingestSpoolFullWaits: new Counter({
      name: 'poste_ingest_spool_full_waits_total',
      help: 'batches that waited for room in a full spool (PUBACKs held)',
      registers,
    }),
    ingestBackpressureRefused: new Counter({
      name: 'poste_ingest_backpressure_refused_total',
      help: 'publishes refused without PUBACK because the cap on waiting messages was reached',
      registers,
    }),
    ingestSpoolDepth: spoolGauge(
      'poste_ingest_spool_depth_batches',
      'batches in the ingest spool not yet in the store',
      (r) => r.depthBatches,
    ),
    ingestSpoolBytes: spoolGauge('poste_ingest_spool_bytes', 'bytes of the ingest spool files', (r) => r.bytes),
    ingestSpoolOldestAgeSeconds: spoolGauge(
      'poste_ingest_spool_oldest_age_seconds',
      'age of the oldest batch in the ingest spool (0 when empty)',
      (r) => r.oldestAgeSeconds,
    ),
    ingestHeldMessages: new Gauge({
      name: 'poste_ingest_held_messages',
      help: 'publishes waiting for their PUBACK in ingest',
      registers,
      collect() {
        this.set(held.current?.() ?? 0);
      },
    }),
    ingestHeld: held,
    ingestSpoolProbe: probe,
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
