// Delivery to the cloud, owned by the agent rather than MQTT.js's in-memory store: everything
// northbound except retained state goes through a spool first (spools.ts), and this sender reads
// the spools in order — priority first — forms batches with the configured limits, publishes them
// QoS 1 with a bounded in-flight window, acknowledges spool records on their batch's PUBACK, and
// after a disconnect rewinds to the first unacknowledged record. Memory holds at most the window
// plus one batch per kind, however long the outage: the backlog stays in the spool.
import type { Logger } from 'pino';
import { topic, type Ack, type ApReading, type Clock, type DeviceEvent, type LuminaireReading } from '@poste/protocol';
import type { SpoolRecord } from '@poste/spool';
import type { Timers } from '../core/timers';
import { decodeRecord, encodeRecord } from './spool-records';
import { openSpools, type DropReport, type OpenedSpools, type RecordSpool, type SpoolName, type SpoolSettings } from './spools';
import type { PublishDone } from './north-link';

export interface BatchLimits {
  /** A batch leaves as soon as it holds this many records… */
  batchMaxReadings: number;
  /** …or when its first record has waited this long (timer ms). */
  batchMaxDelayMs: number;
}

/** The part of the north link the delivery uses. */
export interface DeliveryLink {
  readonly connected: boolean;
  publishTracked(t: string, payload: Buffer, done: PublishDone): boolean;
}

export interface DeliveryOptions extends SpoolSettings {
  /** telemetry batches published and not yet acknowledged by the broker; events and acks may use one slot more */
  maxInFlight: number;
}

export interface DeliveryDeps {
  gatewayId: string;
  dataDir: string | undefined;
  options: DeliveryOptions;
  limits: BatchLimits;
  link: DeliveryLink;
  clock: Clock;
  timers: Timers;
  log: Logger;
}

type BatchKind = 'luminaire' | 'ap' | 'event';

export interface SpoolView {
  depth: number;
  bytes: number;
  maxBytes: number;
  /** ms (agent clock) since the oldest unacknowledged record was appended; null when empty */
  oldestUnsentAgeMs: number | null;
  appended: number;
  acked: number;
  dropped: number;
}

export interface DeliveryStats {
  durable: boolean;
  spools: Record<SpoolName, SpoolView>;
  inFlight: number;
  maxInFlight: number;
  /** records read from the spools waiting for their batch to fill or age */
  pending: { luminaire: number; ap: number; events: number; acks: number };
  batches: { luminaire: number; ap: number; events: number; acks: number };
  /** records sent that were spooled before the current connection came up (backlog, resends) */
  replayedRecords: number;
  rewinds: number;
  /** telemetry dropped by the drop-oldest policy: records, and the drops reported upstream */
  dropped: { records: number; reported: number; unreported: number };
  /** device data the priority spool refused (full): the device was not acknowledged */
  refused: number;
  /** records that could not be decoded (never expected): skipped and acknowledged */
  undecodable: number;
}

interface Accumulator {
  readonly kind: BatchKind;
  readonly spool: RecordSpool;
  seqs: number[];
  json: string[];
  replayed: number;
  ready: boolean;
  timer: unknown;
}

interface InFlightUnit {
  generation: number;
}

const BATCH_TOPIC = { luminaire: 'luminaireTelemetry', ap: 'apTelemetry', event: 'events' } as const;
const BATCH_FIELD = { luminaire: 'readings', ap: 'readings', event: 'events' } as const;

export class Delivery {
  readonly #d: DeliveryDeps;
  readonly #spools: OpenedSpools;
  readonly #acc: Record<BatchKind, Accumulator>;
  /** acks read from the priority spool, each sent on its own; at most a few (see #pump) */
  readonly #acks: Array<{ seq: number; json: string; replayed: boolean }> = [];
  #limits: BatchLimits;
  #generation = 0;
  #inFlight = 0;
  #connectedAt = Number.POSITIVE_INFINITY;
  #pumpScheduled = false;
  #closed = false;
  readonly #seq = { luminaire: 0, ap: 0, event: 0 };
  readonly #batches = { luminaire: 0, ap: 0, events: 0, acks: 0 };
  readonly #counts = { replayedRecords: 0, rewinds: 0, droppedRecords: 0, dropReported: 0, dropUnreported: 0, refused: 0, undecodable: 0 };
  readonly #idleWaiters: Array<() => void> = [];

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
    this.#limits = { ...deps.limits };
    this.#spools = openSpools(deps.dataDir, deps.options, {
      log: deps.log,
      now: () => deps.clock.now(),
      onDrop: (drop) => this.#telemetryDropped(drop),
    });
    const acc = (kind: BatchKind, spool: RecordSpool): Accumulator => ({
      kind,
      spool,
      seqs: [],
      json: [],
      replayed: 0,
      ready: false,
      timer: null,
    });
    this.#acc = {
      event: acc('event', this.#spools.priority),
      luminaire: acc('luminaire', this.#spools.telemetry),
      ap: acc('ap', this.#spools.telemetry),
    };
  }

  get durable(): boolean {
    return this.#spools.durable;
  }

  // Appends: synchronous, so a caller that returns has its record in the spool (in the kernel for
  // a disk spool). They throw when the record cannot be stored (priority spool full: SpoolFullError;
  // a disk error): the caller must then not acknowledge the device.

  appendLuminaire(reading: LuminaireReading): void {
    this.#append(this.#spools.telemetry, encodeRecord('luminaire', reading));
  }

  appendAp(reading: ApReading): void {
    this.#append(this.#spools.telemetry, encodeRecord('ap', reading));
  }

  appendEvent(event: DeviceEvent): void {
    this.#appendPriority(encodeRecord('event', event));
  }

  appendAck(ack: Ack): void {
    this.#appendPriority(encodeRecord('ack', ack));
  }

  setLimits(limits: BatchLimits): void {
    this.#limits = { ...limits };
    for (const a of Object.values(this.#acc)) {
      if (a.seqs.length === 0) continue;
      if (a.seqs.length >= limits.batchMaxReadings) this.#markReady(a);
      else this.#restartTimer(a);
    }
    this.#schedulePump();
  }

  /** The link is up and subscribed, the birth is out: send, oldest first. */
  connected(): void {
    this.#connectedAt = this.#d.clock.now();
    this.#pump();
  }

  /** The link went down: nothing in flight will be acknowledged; start over from the spools' cursors. */
  disconnected(): void {
    this.#generation++;
    this.#inFlight = 0;
    this.#connectedAt = Number.POSITIVE_INFINITY;
    this.#resetReadState();
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Sends what the batches hold now, without waiting for them to fill (no-op while the link is down). */
  flush(): void {
    for (const a of Object.values(this.#acc)) if (a.seqs.length > 0) this.#markReady(a);
    this.#pump();
  }

  /** Flushes and waits until nothing is left to send or in flight, the link drops, or `timeoutMs` passes. */
  async drain(timeoutMs: number): Promise<void> {
    this.flush();
    if (this.#idle()) return;
    await new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, timeoutMs);
      bound.unref();
      this.#idleWaiters.push(() => {
        clearTimeout(bound);
        resolve();
      });
    });
  }

  stats(): DeliveryStats {
    const now = this.#d.clock.now();
    const view = (s: RecordSpool): SpoolView => {
      const st = s.stats();
      return {
        depth: st.depth,
        bytes: st.bytes,
        maxBytes: st.maxBytes,
        oldestUnsentAgeMs: st.oldestUnackedAt === null ? null : Math.max(0, now - st.oldestUnackedAt),
        appended: st.appended,
        acked: st.acked,
        dropped: st.dropped,
      };
    };
    return {
      durable: this.#spools.durable,
      spools: { telemetry: view(this.#spools.telemetry), priority: view(this.#spools.priority) },
      inFlight: this.#inFlight,
      maxInFlight: this.#d.options.maxInFlight,
      pending: {
        luminaire: this.#acc.luminaire.seqs.length,
        ap: this.#acc.ap.seqs.length,
        events: this.#acc.event.seqs.length,
        acks: this.#acks.length,
      },
      batches: { ...this.#batches },
      replayedRecords: this.#counts.replayedRecords,
      rewinds: this.#counts.rewinds,
      dropped: { records: this.#counts.droppedRecords, reported: this.#counts.dropReported, unreported: this.#counts.dropUnreported },
      refused: this.#counts.refused,
      undecodable: this.#counts.undecodable,
    };
  }

  /** Stops the timers and closes the spools (a disk spool persists its cursor). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of Object.values(this.#acc)) this.#clearTimer(a);
    for (const w of this.#idleWaiters.splice(0)) w();
    this.#spools.telemetry.close();
    this.#spools.priority.close();
  }

  #append(spool: RecordSpool, payload: Buffer): void {
    if (this.#closed) throw new Error('delivery closed: the agent is stopping');
    spool.append(payload);
    this.#schedulePump();
  }

  #appendPriority(payload: Buffer): void {
    try {
      this.#append(this.#spools.priority, payload);
    } catch (err) {
      this.#counts.refused++;
      throw err;
    }
  }

  /** The telemetry spool dropped its oldest records: counted, and said upstream as a gateway event. */
  #telemetryDropped(drop: DropReport): void {
    this.#counts.droppedRecords += drop.records;
    const since = Number.isFinite(drop.oldestAppendedAt) ? new Date(drop.oldestAppendedAt).toISOString() : 'unknown';
    const detail = `telemetry spool full: ${drop.records} readings (${drop.bytes} bytes) appended since ${since} dropped, oldest first`;
    this.#d.log.warn({ records: drop.records, bytes: drop.bytes, since }, 'telemetry spool full: oldest readings dropped');
    try {
      this.#spools.priority.append(
        encodeRecord('event', {
          device: this.#d.gatewayId,
          ts: this.#d.clock.now(),
          type: 'telemetryDropped',
          active: true,
          value: drop.records,
          detail,
        }),
      );
      this.#counts.dropReported++;
      this.#schedulePump();
    } catch (err) {
      // The priority spool is full too: the count stays in stats and /metrics.
      this.#counts.dropUnreported++;
      this.#d.log.error(
        { err: (err as Error).message, records: drop.records },
        'telemetry drop could not be reported upstream (priority spool refused the event)',
      );
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closed) return;
    this.#pumpScheduled = true;
    // Coalesces the appends of one I/O turn (a chunk of device packets) into one pass.
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Telemetry batches may fill the window; events and acks get one more slot on top. */
  #room(priority: boolean): boolean {
    return this.#inFlight < this.#d.options.maxInFlight + (priority ? 1 : 0);
  }

  /**
   * Sends what is ready while the window has room, then reads one record at a time into the
   * batches, priority spool first. Reading stops as soon as something ready cannot be sent, so at
   * most one batch per kind (and one ack) waits in memory besides the window. Telemetry may use
   * the whole window and events and acks one slot more, so a command's ack never queues behind a
   * slow replay of telemetry.
   */
  #pump(): void {
    if (this.#closed || !this.#d.link.connected) return;
    for (;;) {
      this.#sendReady();
      if (!this.#room(true) || this.#acks.length > 0 || this.#acc.event.ready) break;
      const urgent = this.#spools.priority.readNext(1)[0];
      if (urgent !== undefined) {
        this.#take(urgent, this.#spools.priority);
        continue;
      }
      if (!this.#room(false) || this.#acc.luminaire.ready || this.#acc.ap.ready) break;
      const rec = this.#spools.telemetry.readNext(1)[0];
      if (rec === undefined) break;
      this.#take(rec, this.#spools.telemetry);
    }
    if (this.#idle()) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #take(rec: SpoolRecord, from: RecordSpool): void {
    const decoded = decodeRecord(rec.payload);
    const replayed = rec.appendedAt < this.#connectedAt;
    if (decoded === null) {
      this.#counts.undecodable++;
      this.#d.log.error(
        { seq: rec.seq, spool: from === this.#spools.priority ? 'priority' : 'telemetry' },
        'spool record not written by this agent; skipped',
      );
      from.ack(rec.seq);
      return;
    }
    if (decoded.kind === 'ack') {
      this.#acks.push({ seq: rec.seq, json: decoded.json, replayed });
      return;
    }
    const a = this.#acc[decoded.kind as BatchKind];
    a.seqs.push(rec.seq);
    a.json.push(decoded.json);
    if (replayed) a.replayed++;
    if (a.seqs.length >= this.#limits.batchMaxReadings) this.#markReady(a);
    else if (a.seqs.length === 1) this.#restartTimer(a);
  }

  #sendReady(): void {
    for (;;) {
      const ack = this.#room(true) ? this.#acks.shift() : undefined;
      if (ack !== undefined) {
        this.#publish(
          topic('ack', { gateway: this.#d.gatewayId }),
          Buffer.from(ack.json, 'utf8'),
          this.#spools.priority,
          [ack.seq],
          ack.replayed ? 1 : 0,
        );
        this.#batches.acks++;
        continue;
      }
      const a = [this.#acc.event, this.#acc.luminaire, this.#acc.ap].find((x) => x.ready && this.#room(x.kind === 'event'));
      if (a === undefined) return;
      this.#publishBatch(a);
    }
  }

  #publishBatch(a: Accumulator): void {
    const n = Math.min(a.seqs.length, this.#limits.batchMaxReadings);
    const seqs = a.seqs.splice(0, n);
    const json = a.json.splice(0, n);
    const replayed = Math.min(a.replayed, n);
    a.replayed -= replayed;
    this.#clearTimer(a);
    a.ready = a.seqs.length >= this.#limits.batchMaxReadings;
    if (!a.ready && a.seqs.length > 0) this.#restartTimer(a);
    const seq = this.#seq[a.kind]++;
    const payload = Buffer.from(`{"v":1,"seq":${seq},"${BATCH_FIELD[a.kind]}":[${json.join(',')}]}`, 'utf8');
    this.#batches[a.kind === 'event' ? 'events' : a.kind]++;
    this.#publish(topic(BATCH_TOPIC[a.kind], { gateway: this.#d.gatewayId }), payload, a.spool, seqs, replayed);
  }

  #publish(t: string, payload: Buffer, spool: RecordSpool, seqs: number[], replayed: number): void {
    const unit: InFlightUnit = { generation: this.#generation };
    this.#inFlight++;
    this.#counts.replayedRecords += replayed;
    const sent = this.#d.link.publishTracked(t, payload, (acked) => {
      if (!acked) return; // the connection ended: disconnected() rewinds and these are read again
      if (!this.#closed) for (const s of seqs) spool.ack(s);
      if (unit.generation !== this.#generation) return;
      this.#inFlight--;
      this.#schedulePump();
    });
    if (!sent) this.#inFlight--; // the link went down between the check and now; disconnected() rewinds
  }

  #markReady(a: Accumulator): void {
    a.ready = true;
    this.#clearTimer(a);
  }

  #restartTimer(a: Accumulator): void {
    this.#clearTimer(a);
    a.timer = this.#d.timers.setTimeout(() => {
      a.timer = null;
      if (a.seqs.length > 0) a.ready = true;
      this.#pump();
    }, this.#limits.batchMaxDelayMs);
  }

  #clearTimer(a: Accumulator): void {
    if (a.timer !== null) {
      this.#d.timers.clearTimeout(a.timer);
      a.timer = null;
    }
  }

  #resetReadState(): void {
    for (const a of Object.values(this.#acc)) {
      this.#clearTimer(a);
      a.seqs = [];
      a.json = [];
      a.replayed = 0;
      a.ready = false;
    }
    this.#acks.length = 0;
    if (this.#closed) return;
    this.#spools.priority.rewind();
    this.#spools.telemetry.rewind();
    this.#counts.rewinds++;
  }

  #idle(): boolean {
    if (this.#closed) return true;
    if (!this.#d.link.connected) return true;
    const accEmpty = Object.values(this.#acc).every((a) => a.seqs.length === 0);
    return (
      this.#inFlight === 0 && accEmpty && this.#acks.length === 0 && this.#spools.priority.depth === 0 && this.#spools.telemetry.depth === 0
    );
  }
}
