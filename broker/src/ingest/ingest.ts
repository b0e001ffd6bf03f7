import {
  decodeApBatch,
  decodeEventBatch,
  decodeLuminaireBatch,
  formatPayloadError,
  parseTopic,
  type DecodedBatch,
  type PayloadError,
} from '@poste/protocol';
import type { PublishPacket } from 'aedes';
import { pino, type Logger } from 'pino';
import type { PosteBroker } from '../broker/broker';
import type { Principal } from '../credentials/store';
import { retryWithBackoff, type BackoffOptions } from '@poste/telemetry-store';
import { StoreWriteError, type Point, type StoreWriter } from '@poste/telemetry-store';
import { Batcher, type BatchSink, type Pending } from './batcher';
import { DeadLetters, type DeadLetterReason, type DeadLetterSample } from './dead-letter';
import { apPoint, eventPoint, luminairePoint, type Origin } from './points';

export interface IngestOptions {
  broker: PosteBroker;
  store: StoreWriter;
  /** gateway id → municipality, server side (the credentials store's directory) */
  directory: ReadonlyMap<string, string> | ((gateway: string) => string | undefined);
  /** points per store write (InfluxDB's sweet spot is 5,000) */
  batchSize?: number;
  /** longest a point waits for its batch to fill */
  flushIntervalMs?: number;
  /** retry policy for retryable store errors; when exhausted the messages stay unacknowledged */
  backoff?: Partial<BackoffOptions>;
  logger?: Logger;
  /** dead-letter samples kept in memory */
  maxDeadLetterSamples?: number;
}

export interface IngestStats {
  messagesAccepted: number;
  pointsWritten: number;
  /** invalid items plus invalid whole messages, and points the store refused for good */
  rejected: number;
  rejectedByReason: Partial<Record<DeadLetterReason, number>>;
  deadLetterSamples: DeadLetterSample[];
  writeRetries: number;
  writeFailures: number;
  pendingPoints: number;
}

export interface Ingest {
  stats(): IngestStats;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  /** Detaches from the broker and flushes. The store stays open (it is the caller's). */
  close(): Promise<void>;
}

type Kind = 'luminaireTelemetry' | 'apTelemetry' | 'events';
const DECODERS: Record<Kind, (payload: Buffer) => DecodedBatch<unknown>> = {
  luminaireTelemetry: decodeLuminaireBatch,
  apTelemetry: decodeApBatch,
  events: decodeEventBatch,
};

/**
 * Validate → points → batch → write. Hooks the broker's publish gate so a gateway's PUBLISH is
 * acknowledged only after its points are written (see PublishGate for why not a subscription).
 * Invalid messages and items are dead-lettered and acknowledged (resending cannot fix them); a
 * store that stays down past the retries leaves the message unacknowledged for the gateway to resend.
 */
export function createIngest(opts: IngestOptions): Ingest {
  const logger = opts.logger ?? opts.broker.logger.child({ component: 'ingest' });
  const metrics = opts.broker.metrics;
  const dead = new DeadLetters(metrics.ingestRejected, opts.maxDeadLetterSamples);
  const lookup = typeof opts.directory === 'function' ? opts.directory : (g: string) => (opts.directory as ReadonlyMap<string, string>).get(g);
  const counts = { messagesAccepted: 0, pointsWritten: 0, writeRetries: 0, writeFailures: 0 };

  const writer: BatchSink = {
    write: (points) =>
      retryWithBackoff(() => opts.store.write(points), opts.backoff, (err, attempt, delayMs) => {
        counts.writeRetries++;
        metrics.ingestWriteRetries.inc();
        logger.warn({ err: err.message, attempt, delayMs }, 'store write failed, retrying');
      }),
  };

  const written = (points: readonly Point[]) => {
    counts.pointsWritten += points.length;
    for (const p of points) metrics.ingestPointsWritten.inc({ measurement: p.measurement });
  };

  const sink = async (batch: Pending[]): Promise<void> => {
    const all = batch.flatMap((p) => p.points);
    try {
      await writer.write(all);
      written(all);
      for (const p of batch) p.resolve();
      return;
    } catch (err) {
      if (isPermanent(err) && batch.length > 1) {
        // One bad message must not poison the batch: retry message by message.
        for (const p of batch) await sink([p]);
        return;
      }
      const first = batch[0];
      if (isPermanent(err) && first) {
        counts.writeFailures++;
        metrics.ingestWriteFailures.inc({ kind: 'permanent' });
        dead.add(
          { reason: 'store-rejected', topic: '', gateway: first.points[0]?.tags.gateway ?? '', path: '', detail: (err as Error).message, excerpt: first.points[0] },
          first.points.length,
        );
        logger.error({ err: (err as Error).message, points: first.points.length }, 'store refused points; dead-lettered');
        first.resolve();
        return;
      }
      counts.writeFailures++;
      metrics.ingestWriteFailures.inc({ kind: 'retryable' });
      logger.error({ err: (err as Error).message, points: all.length }, 'store unavailable after retries; messages left unacknowledged');
      for (const p of batch) p.reject(err);
    }
  };

  const batcher = new Batcher(sink, opts.batchSize ?? 5_000, opts.flushIntervalMs ?? 200);

  const reject = (reason: DeadLetterReason, topic: string, gateway: string, e: PayloadError, excerpt: unknown) => {
    dead.add({ reason, topic, gateway, path: e.path, detail: e.reason, excerpt });
    logger.warn({ reason, topic, gateway, error: formatPayloadError(e) }, 'dead-lettered');
  };

  const gate = async (packet: PublishPacket, gw: Extract<Principal, { role: 'gateway' }>): Promise<void> => {
    const parsed = parseTopic(packet.topic);
    if (!parsed || !(parsed.kind in DECODERS)) return;
    const kind = parsed.kind as Kind;
    // The ACL guarantees the topic's gateway is the authenticated one; use the authenticated id anyway.
    const municipality = lookup(gw.id) ?? gw.municipality;
    if (!municipality) {
      reject('unknown-gateway', packet.topic, gw.id, { path: '', reason: 'gateway not in the directory' }, '');
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const decoded = DECODERS[kind](payload);
    if (!decoded.ok) {
      const reason = decoded.error.path === '' && decoded.error.reason.startsWith('not JSON') ? 'invalid-json' : 'invalid-envelope';
      reject(reason, packet.topic, gw.id, decoded.error, payload);
      return;
    }
    const raw = decoded.rejected.length > 0 ? rawItems(payload, kind) : [];
    for (const r of decoded.rejected) reject('invalid-item', packet.topic, gw.id, r.error, raw[r.index]);
    const origin: Origin = { municipality, gateway: gw.id };
    const points = toPoints(kind, origin, decoded.items);
    counts.messagesAccepted++;
    await batcher.add(points);
  };

  opts.broker.setPublishGate(gate);

  return {
    stats: () => ({
      ...counts,
      rejected: Object.values(dead.byReason).reduce((a, b) => a + b, 0),
      rejectedByReason: { ...dead.byReason },
      deadLetterSamples: dead.samples(),
      pendingPoints: batcher.pendingPoints,
    }),
    flush: () => batcher.flush(),
    async close() {
      opts.broker.setPublishGate(undefined);
      await batcher.flush();
    },
  };
}

function toPoints(kind: Kind, o: Origin, items: unknown[]): Point[] {
  // Items come out of the protocol decoders for this very kind, so the casts only restore the type.
  switch (kind) {
    case 'luminaireTelemetry':
      return (items as Parameters<typeof luminairePoint>[1][]).map((r) => luminairePoint(o, r));
    case 'apTelemetry':
      return (items as Parameters<typeof apPoint>[1][]).map((r) => apPoint(o, r));
    case 'events':
      return (items as Parameters<typeof eventPoint>[1][]).map((e) => eventPoint(o, e));
  }
}

function isPermanent(err: unknown): boolean {
  return !(err instanceof StoreWriteError) || !err.retryable;
}

/** The raw items of a batch, for dead-letter samples of rejected ones (parsed again only then). */
function rawItems(payload: Buffer, kind: Kind): unknown[] {
  try {
    const json = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    const list = json[kind === 'events' ? 'events' : 'readings'];
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}
