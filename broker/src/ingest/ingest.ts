import {
  DEFAULT_BIRTH_GRACE_MS,
  DEFAULT_MAX_FUTURE_SKEW_MS,
  decodeApBatch,
  decodeEventBatch,
  decodeLuminaireBatch,
  formatPayloadError,
  jsonBoundExceeded,
  parseTopic,
  systemClock,
  type Clock,
  type DecodedBatch,
  type PayloadError,
} from '@poste/protocol';
import type { PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { PosteBroker } from '../broker/broker';
import type { Principal } from '../credentials/store';
import { SpoolFullError } from '@poste/spool';
import { DEFAULT_BACKOFF, type BackoffOptions, type Point, type StoreWriter } from '@poste/telemetry-store';
import { Batcher, type Pending } from './batcher';
import { DeadLetters, type DeadLetterReason, type DeadLetterSample } from './dead-letter';
import { deliver, type DeliveryAccounting } from './deliver';
import { IngestSpool, type IngestSpoolOptions } from './ingest-spool';
import { apPoint, eventPoint, luminairePoint, type Origin, SharedTags } from './points';
import { FleetRegistry, type FleetOptions } from './fleet-registry';
import { announceDevice, seedFleet } from './announce';
import { Quarantine, type QuarantineStats } from './quarantine';
import { StatusFile } from './status-file';
import { originalIndices, screenAps, screenEvents, screenLuminaires, type Screened } from './screen';
import type { ApReading, DeviceEvent, LuminaireReading } from '@poste/protocol';

export interface IngestOptions {
  broker: PosteBroker;
  store: StoreWriter;
  /** gateway id → municipality, server side (the credentials store's directory) */
  directory: ReadonlyMap<string, string> | ((gateway: string) => string | undefined);
  /** points per store write (InfluxDB's sweet spot is 5,000) */
  batchSize?: number;
  /** longest a point waits for its batch to fill */
  flushIntervalMs?: number;
  /** store writes under way at once (default 2: InfluxDB takes about 1.6× more with two writers than one) */
  writeConcurrency?: number;
  /**
   * retry of one store write on retryable errors. With a spool the default is short (2 attempts,
   * ~0.5 s apart) and the batch is spooled after it; without one it is DEFAULT_BACKOFF (5 attempts)
   * and the messages stay unacknowledged after it.
   */
  backoff?: Partial<BackoffOptions>;
  /**
   * Ingest's disk spool: batches the store cannot take now are fsynced here and acknowledged, then
   * drained to the store in order (ingest-spool.ts). Without it a store outage holds the PUBACKs.
   */
  spool?: IngestSpoolOptions;
  /**
   * Cap on publishes waiting for their PUBACK inside ingest (batching, writing, or waiting for room
   * in a full spool) and on their points. A publish beyond either cap is refused without PUBACK (the
   * client is disconnected and resends later), so memory stays bounded however slow the store is.
   */
  maxHeldMessages?: number;
  maxHeldPoints?: number;
  logger?: Logger;
  /** dead-letter samples kept in memory */
  maxDeadLetterSamples?: number;
  /**
   * Fleet state per gateway (announced devices, bounded) and attribution of readings: devices never
   * announced, assigned elsewhere by the inventory, or over the cap are quarantined (fleet-registry.ts).
   */
  fleet?: FleetOptions;
  /** the receiver's clock for the future-timestamp check (the city passes its simulated one); default the system clock */
  clock?: Clock;
  /** how far ahead of `clock` a reading's (or a birth's) timestamp may be; default 5 min */
  maxFutureSkewMs?: number;
  /** how long before a device's first known birth its readings may be dated; default 24 h (protocol DEFAULT_BIRTH_GRACE_MS) */
  birthGraceMs?: number;
  /** quarantined readings kept as samples, per gateway */
  quarantineSamplesPerGateway?: number;
  /** a JSON file kept up to date with the refusals and quarantine (counts and samples), for operators without /metrics */
  statusFile?: string;
}

export interface IngestStats {
  messagesAccepted: number;
  pointsWritten: number;
  /** invalid items plus invalid whole messages, and points the store refused for good */
  rejected: number;
  rejectedByReason: Partial<Record<DeadLetterReason, number>>;
  deadLetterSamples: DeadLetterSample[];
  writeRetries: number;
  /** batches the store could not take (spooled, or left unacknowledged without a spool) and permanent refusals */
  writeFailures: number;
  pendingPoints: number;
  /** store answers that wrote some points and refused others; pointsWritten counts the written ones */
  partialWrites: number;
  /** publishes waiting for their PUBACK, and their points */
  heldMessages: number;
  heldPoints: number;
  /** publishes refused without PUBACK because maxHeldMessages/maxHeldPoints was reached */
  refusedBusy: number;
  spool: IngestSpoolStats | undefined;
  /** readings kept out of the store because they cannot be attributed to their gateway */
  quarantine: QuarantineStats;
}

export interface IngestSpoolStats {
  dir: string;
  /** batches not yet in the store */
  depthBatches: number;
  bytes: number;
  maxBytes: number;
  /** ms since the oldest spooled batch was appended, null when empty */
  oldestAgeMs: number | null;
  spooledBatches: number;
  drainedBatches: number;
  drainedPoints: number;
  /** batches that had to wait for room (their PUBACKs held) */
  fullWaits: number;
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
 * acknowledged only once its points are durable: written to the store, refused for good (counted and
 * dead-lettered), or — with a spool — fsynced to ingest's own disk spool when the store cannot take
 * them now. Invalid messages and items are dead-lettered and acknowledged (resending cannot fix them).
 */
export function createIngest(opts: IngestOptions): Ingest {
  const logger = opts.logger ?? opts.broker.logger.child({ component: 'ingest' });
  const metrics = opts.broker.metrics;
  const dead = new DeadLetters(metrics.ingestRejected, opts.maxDeadLetterSamples);
  const lookup =
    typeof opts.directory === 'function' ? opts.directory : (g: string) => (opts.directory as ReadonlyMap<string, string>).get(g);
  const counts = { messagesAccepted: 0, pointsWritten: 0, writeRetries: 0, writeFailures: 0, partialWrites: 0, refusedBusy: 0 };
  const spoolCounts = { spooledBatches: 0, drainedBatches: 0, drainedPoints: 0, fullWaits: 0 };
  const held = { messages: 0, points: 0 };
  const maxHeldMessages = opts.maxHeldMessages ?? 10_000;
  const maxHeldPoints = opts.maxHeldPoints ?? 500_000;
  const clock = opts.clock ?? systemClock;
  const maxSkewMs = opts.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
  const birthGraceMs = opts.birthGraceMs ?? DEFAULT_BIRTH_GRACE_MS;
  const fleet = new FleetRegistry(opts.fleet);
  const tagCaches: TagCaches = { luminaire: new SharedTags('luminaire'), ap: new SharedTags('ap') };
  const quarantine = new Quarantine(metrics.registry, opts.quarantineSamplesPerGateway);
  // Devices announced before a restart are in the broker's retained states: learn them first.
  let seedDone = false;
  const seeded = seedFleet(opts.broker, fleet, logger).finally(() => {
    seedDone = true;
  });

  const accounting = (path: 'direct' | 'drain'): DeliveryAccounting => ({
    written(count, measurement) {
      counts.pointsWritten += count;
      metrics.ingestPointsWritten.inc({ measurement }, count);
    },
    refused(points, detail) {
      counts.writeFailures++;
      metrics.ingestWriteFailures.inc({ kind: 'permanent' });
      for (const p of points)
        dead.add({ reason: 'store-rejected', topic: '', gateway: p.tags.gateway ?? '', path: '', detail, excerpt: p });
      logger.error({ err: detail, points: points.length }, 'store refused points for good; dead-lettered');
    },
    refusedUnidentified(count, detail, gateways) {
      counts.writeFailures++;
      metrics.ingestWriteFailures.inc({ kind: 'permanent' });
      dead.add({ reason: 'store-rejected', topic: '', gateway: gateways.join(','), path: '', detail, excerpt: '' }, count);
      logger.error({ err: detail, points: count, gateways }, 'store refused points for good (it did not say which); dead-lettered');
    },
    partialWrite(written, refused) {
      counts.partialWrites++;
      metrics.ingestPartialWrites.inc();
      metrics.ingestPartialRefusedPoints.inc(refused);
      logger.warn({ written, refused }, 'partial write');
    },
    retry(err, attempt, delayMs) {
      counts.writeRetries++;
      metrics.ingestWriteRetries.inc();
      logger.warn({ err: err.message, attempt, delayMs, path }, 'store write failed, retrying');
    },
    observeWrite(seconds, points) {
      metrics.ingestWriteSeconds.observe({ path }, seconds);
      metrics.ingestBatchPoints.observe(points);
    },
  });

  // With a spool the store gets a short retry, then the batch is safe on disk anyway.
  const shortBackoff: Partial<BackoffOptions> = opts.spool
    ? { attempts: 2, initialDelayMs: 500, maxDelayMs: 1_000, ...opts.backoff }
    : { ...DEFAULT_BACKOFF, ...opts.backoff };

  const spool = opts.spool
    ? new IngestSpool(
        opts.spool,
        {
          deliver: (messages) => deliver(messages, { store: opts.store, backoff: shortBackoff, accounting: accounting('drain') }),
          drained(points) {
            spoolCounts.drainedBatches++;
            spoolCounts.drainedPoints += points;
            metrics.ingestSpoolDrainedBatches.inc();
            metrics.ingestSpoolDrainedPoints.inc(points);
          },
          unreadable(seq, detail) {
            dead.add({
              reason: 'spool-unreadable',
              topic: '',
              gateway: '',
              path: '',
              detail: `spool record ${seq}: ${detail}`,
              excerpt: '',
            });
            logger.error({ seq, detail }, 'unreadable ingest spool record skipped');
          },
        },
        logger.child({ component: 'ingest-spool' }),
      )
    : undefined;
  if (spool) {
    const disk = spool.disk;
    metrics.ingestSpoolProbe.current = () => {
      const oldest = disk.oldestUnackedAt();
      return { depthBatches: disk.depth, bytes: disk.bytes, oldestAgeSeconds: oldest === null ? 0 : (Date.now() - oldest) / 1000 };
    };
  }

  /** Appends to the spool, waiting for room while it is full (the PUBACKs stay held meanwhile). */
  const spoolBatch = async (messages: Point[][]): Promise<void> => {
    if (!spool) throw new Error('no spool');
    let waited = false;
    for (;;) {
      if (spool.closing) throw new Error('ingest is closing; batch not spooled (no PUBACK, the gateway resends)');
      try {
        spool.append(messages);
        counts.writeFailures++;
        metrics.ingestWriteFailures.inc({ kind: 'retryable' });
        spoolCounts.spooledBatches++;
        metrics.ingestSpooledBatches.inc();
        return;
      } catch (err) {
        if (!(err instanceof SpoolFullError) || !spool.fits(err)) throw err;
        if (!waited) {
          waited = true;
          spoolCounts.fullWaits++;
          metrics.ingestSpoolFullWaits.inc();
          logger.warn({ batches: spool.depth }, 'ingest spool full; holding PUBACKs until it drains');
        }
        await spool.waitForRoom();
      }
    }
  };

  const sink = async (batch: Pending[]): Promise<void> => {
    const messages = batch.map((p) => p.points);
    try {
      // Behind a non-empty spool, a batch goes to the spool too: the store gets everything in order.
      if (spool && spool.depth > 0) {
        await spoolBatch(messages);
      } else {
        const outcome = await deliver(messages, { store: opts.store, backoff: shortBackoff, accounting: accounting('direct') });
        if (outcome.kind === 'unavailable') {
          const rest = messages.slice(outcome.from);
          if (!spool) {
            counts.writeFailures++;
            metrics.ingestWriteFailures.inc({ kind: 'retryable' });
            logger.error(
              { err: errorMessage(outcome.error), points: rest.flat().length },
              'store unavailable after retries; messages left unacknowledged',
            );
            for (const p of batch.slice(0, outcome.from)) p.resolve();
            for (const p of batch.slice(outcome.from)) p.reject(outcome.error);
            return;
          }
          logger.warn({ err: errorMessage(outcome.error), points: rest.flat().length }, 'store unavailable; batch spooled');
          await spoolBatch(rest);
        }
      }
    } catch (err) {
      // The spool itself failed (its disk full or broken) or ingest is closing: no PUBACK.
      logger.error({ err: errorMessage(err), messages: batch.length }, 'batch could not be made durable; messages left unacknowledged');
      for (const p of batch) p.reject(err);
      return;
    }
    for (const p of batch) p.resolve();
  };

  const batcher = new Batcher(sink, opts.batchSize ?? 5_000, opts.flushIntervalMs ?? 200, opts.writeConcurrency ?? 2);

  const reject = (reason: DeadLetterReason, topic: string, gateway: string, e: PayloadError, excerpt: unknown) => {
    dead.add({ reason, topic, gateway, path: e.path, detail: e.reason, excerpt });
    logger.warn({ reason, topic, gateway, error: formatPayloadError(e) }, 'dead-lettered');
  };

  // Not async: a publish with nothing to write (invalid, refused, quarantined, not telemetry) is
  // acknowledged at once, and a valid one costs one promise (its batch's), not a chain of awaits.
  const gate = (packet: PublishPacket, gw: Extract<Principal, { role: 'gateway' }>): Promise<void> | undefined => {
    const parsed = parseTopic(packet.topic);
    if (!parsed) return undefined;
    if (parsed.kind === 'deviceState') {
      // Synchronous on purpose: a refused announcement is discarded before the broker retains it.
      announceDevice(packet, gw.id, parsed.params.device, { fleet, nowMs: clock.now(), maxSkewMs, reject });
      return undefined;
    }
    if (!(parsed.kind in DECODERS)) return undefined;
    // Until the retained device states are learnt, screening would quarantine announced devices.
    if (!seedDone) return seeded.then(() => gate(packet, gw));
    let points: Point[];
    try {
      const validated = validate(packet, gw, parsed.kind as Kind);
      if (!validated) return undefined;
      points = validated;
    } catch (err) {
      // A bug, not the sender's fault to fix by resending: counted, dead-lettered and acknowledged.
      reject('internal-error', packet.topic, gw.id, { path: '', reason: errorMessage(err) }, '');
      return undefined;
    }
    if (points.length === 0) return undefined;
    if (held.messages >= maxHeldMessages || held.points + points.length > maxHeldPoints) {
      // Bounded memory: beyond the cap the publish is refused without PUBACK; the gateway resends.
      counts.refusedBusy++;
      metrics.ingestBackpressureRefused.inc();
      return Promise.reject(new Error(`ingest busy: ${held.messages} publishes (${held.points} points) already waiting; resend later`));
    }
    counts.messagesAccepted++;
    held.messages++;
    held.points += points.length;
    const release = () => {
      held.messages--;
      held.points -= points.length;
    };
    return batcher.add(points).then(release, (err: unknown) => {
      release();
      throw err;
    });
  };

  /** Decode, dead-letter what is invalid or implausible, quarantine what is unattributable; the points to write (undefined: none, message refused). */
  const validate = (packet: PublishPacket, gw: Extract<Principal, { role: 'gateway' }>, kind: Kind): Point[] | undefined => {
    // The ACL guarantees the topic's gateway is the authenticated one; use the authenticated id anyway.
    const municipality = lookup(gw.id) ?? gw.municipality;
    if (!municipality) {
      reject('unknown-gateway', packet.topic, gw.id, { path: '', reason: 'gateway not in the directory' }, '');
      return undefined;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const decoded = DECODERS[kind](payload);
    if (!decoded.ok) {
      const bound = jsonBoundExceeded(decoded.error);
      const reason =
        bound ?? (decoded.error.path === '' && decoded.error.reason.startsWith('not JSON') ? 'invalid-json' : 'invalid-envelope');
      reject(reason, packet.topic, gw.id, decoded.error, payload);
      return undefined;
    }
    const screened = screenItems(kind, decoded.items, originalIndices(decoded.items.length, decoded.rejected), {
      gateway: gw.id,
      fleet,
      nowMs: clock.now(),
      maxSkewMs,
      birthGraceMs,
    });
    const bad = decoded.rejected.length + screened.refused.length;
    const raw = bad > 0 ? rawItems(payload, kind) : [];
    for (const r of decoded.rejected) reject('invalid-item', packet.topic, gw.id, r.error, raw[r.index]);
    for (const r of screened.refused) reject(r.reason, packet.topic, gw.id, r.error, raw[r.index]);
    for (const q of screened.quarantined) quarantine.add(q);
    if (screened.quarantined.length > 0) {
      const first = screened.quarantined[0]!;
      logger.warn({ gateway: gw.id, readings: screened.quarantined.length, reason: first.reason }, 'readings quarantined');
    }
    return toPoints(kind, { municipality, gateway: gw.id }, screened.accepted, tagCaches);
  };

  opts.broker.setPublishGate(gate);
  // Read when scraped rather than set twice per publish.
  metrics.ingestHeld.current = () => held.messages;

  const statusFile = opts.statusFile
    ? new StatusFile(
        opts.statusFile,
        () => ({
          rejectedByReason: { ...dead.byReason },
          deadLetterSamples: dead.samples(),
          quarantine: quarantine.stats(),
        }),
        logger,
      )
    : undefined;

  return {
    stats: () => ({
      ...counts,
      rejected: Object.values(dead.byReason).reduce((a, b) => a + b, 0),
      rejectedByReason: { ...dead.byReason },
      deadLetterSamples: dead.samples(),
      pendingPoints: batcher.pendingPoints,
      heldMessages: held.messages,
      heldPoints: held.points,
      spool: spool ? spoolStats(spool, spoolCounts) : undefined,
      quarantine: quarantine.stats(),
    }),
    flush: () => batcher.flush(),
    async close() {
      opts.broker.setPublishGate(undefined);
      await batcher.flush();
      await statusFile?.close();
      // What the store has not taken stays in the spool files; the next start drains it.
      await spool?.close();
      if (spool) metrics.ingestSpoolProbe.current = undefined;
      metrics.ingestHeld.current = undefined;
    },
  };
}

function screenItems(
  kind: Kind,
  items: unknown[],
  indices: number[] | undefined,
  ctx: Parameters<typeof screenEvents>[2],
): Screened<unknown> {
  // Items come out of the protocol decoders for this very kind, so the casts only restore the type.
  switch (kind) {
    case 'luminaireTelemetry':
      return screenLuminaires(items as LuminaireReading[], indices, ctx);
    case 'apTelemetry':
      return screenAps(items as ApReading[], indices, ctx);
    case 'events':
      return screenEvents(items as DeviceEvent[], indices, ctx);
  }
}

/** One frozen tags object per device, per measurement (points.ts SharedTags). */
interface TagCaches {
  luminaire: SharedTags;
  ap: SharedTags;
}

function toPoints(kind: Kind, o: Origin, items: unknown[], tags: TagCaches): Point[] {
  // Items come out of the protocol decoders for this very kind, so the casts only restore the type.
  const out: Point[] = new Array(items.length);
  switch (kind) {
    case 'luminaireTelemetry':
      for (let i = 0; i < items.length; i++) out[i] = luminairePoint(o, items[i] as LuminaireReading, tags.luminaire);
      break;
    case 'apTelemetry':
      for (let i = 0; i < items.length; i++) out[i] = apPoint(o, items[i] as ApReading, tags.ap);
      break;
    case 'events':
      for (let i = 0; i < items.length; i++) out[i] = eventPoint(o, items[i] as DeviceEvent);
      break;
  }
  return out;
}

function spoolStats(
  spool: IngestSpool,
  c: { spooledBatches: number; drainedBatches: number; drainedPoints: number; fullWaits: number },
): IngestSpoolStats {
  const s = spool.disk.stats();
  return {
    dir: spool.disk.dir,
    depthBatches: s.depth,
    bytes: s.bytes,
    maxBytes: s.maxBytes,
    oldestAgeMs: s.oldestUnackedAt === null ? null : Date.now() - s.oldestUnackedAt,
    ...c,
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
