import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { BrokerState, type ClientSubscription, Packet, type StateRecord, type StoredPacket, type TopicSubscription } from './broker-state';
import { type DirLock, lockDirectory } from './dir-lock';
import { JournalWriter } from './journal-writer';
import { encodeRecord } from './record-codec';
import { journalPath, loadState, removeJournalsBefore, snapshotLines, writeSnapshot } from './state-files';

export const FilePersistenceOptionsSchema = z.object({
  /** directory of the snapshot and journal (created if missing) */
  dir: z.string().min(1),
  /** how long a commit waits for more appends to share its fsync */
  groupCommitMs: z.number().int().min(0).max(1000).default(2),
  /** journal size that triggers a compaction into a new snapshot */
  maxJournalBytes: z
    .number()
    .int()
    .min(4096)
    .default(64 * 1024 * 1024),
  /** a journal with anything in it is compacted at least this often */
  compactIntervalMs: z
    .number()
    .int()
    .min(1000)
    .default(10 * 60 * 1000),
  /** queued QoS 1/2 packets per persistent session; beyond it new ones are dropped (counted, logged) */
  maxQueuedPerClient: z.number().int().min(1).default(10_000),
  /** subscriptions per persistent session; a SUBSCRIBE beyond it fails and Aedes disconnects the client */
  maxSubscriptionsPerClient: z.number().int().min(1).default(1_000),
  /** retained topics in all; a retained PUBLISH to a new topic beyond it is refused */
  maxRetainedMessages: z.number().int().min(1).default(1_000_000),
});
export type FilePersistenceOptions = z.input<typeof FilePersistenceOptionsSchema> & { logger?: Logger };

export interface FilePersistenceStats {
  retained: number;
  sessions: number;
  queued: number;
  incoming: number;
  wills: number;
  journalBytes: number;
  journalGeneration: number;
  compactions: number;
  droppedQueued: number;
}

interface AedesRef {
  id: string;
  counter: number;
}
interface ClientRef {
  id: string;
}

/**
 * A durable Aedes persistence on one node: the semantics of aedes-persistence's in-memory back end
 * (Aedes 1.x calls its async API), plus an append-only journal and periodic snapshots. Every
 * change creating an obligation — a retained message, a subscription of a persistent session, a
 * queued QoS 1/2 packet, an incoming QoS 2 packet, a will — is fsync'd (group commit) before its
 * promise resolves. Changes discharging one (a packet id assigned, a PUBACK'd packet cleared, a
 * PUBREL'd packet deleted) are journaled in order without waiting: losing one in a crash means a
 * redelivery, never a loss. Load never crashes on a damaged file; the damage is cut and logged.
 */
export class FilePersistence {
  readonly #opts: z.output<typeof FilePersistenceOptionsSchema>;
  readonly #logger: Logger;
  readonly #state = new BrokerState();
  /** payloads of retained publishes stored by storeRetainedBeforeAck, so Aedes' own store is skipped */
  readonly #storedBeforeAck = new WeakSet<object>();
  /** sessions whose queue is full (logged once per overflow, not once per dropped packet) */
  readonly #overflowing = new Set<string>();
  /**
   * Live deliveries to a persistent session that came before their enqueue (see outgoingUpdate):
   * by client id + broker id + counter, the packet id they went out with and whether the client
   * has acknowledged it. Bounded: oldest forgotten first.
   */
  readonly #adopted = new Map<string, { clientId: string; messageId: number | undefined; acked: boolean }>();
  #broker: AedesRef | undefined;
  #writer: JournalWriter | undefined;
  #lock: DirLock | undefined;
  #generation = 0;
  #compaction: Promise<void> | undefined;
  #compactions = 0;
  #droppedQueued = 0;
  #timer: NodeJS.Timeout | undefined;
  #destroyed: Promise<void> | undefined;
  #failureLogged = false;

  constructor(options: FilePersistenceOptions) {
    const parsed = FilePersistenceOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`invalid file persistence options: ${why}`);
    }
    this.#opts = parsed.data;
    this.#logger = options.logger ?? pino({ name: 'poste-broker-persistence' });
  }

  /** the Aedes instance (aedes-persistence's abstract tests read its id) */
  get broker(): AedesRef | undefined {
    return this.#broker;
  }

  /** Loads the directory (Aedes calls this once, from createBroker). */
  async setup(broker: AedesRef): Promise<void> {
    if (this.#broker) throw new Error('file persistence: setup called twice');
    this.#broker = broker;
    const started = Date.now();
    const dir = this.#opts.dir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.#lock = await lockDirectory(dir);
    try {
      const report = await loadState(dir, this.#state);
      for (const c of report.cut) this.#logger.warn(c, 'broker state: cut a torn or corrupt tail; the records after it are lost');
      if (report.skipped.length > 0) {
        this.#logger.warn(
          { count: report.skipped.length, first: report.skipped.slice(0, 5) },
          'broker state: skipped records that could not be applied',
        );
      }
      // Queued packets keep their broker id and counter; a broker restarted with a fixed id must
      // not hand out a counter a queued packet already has (outgoingUpdate matches on it).
      for (const queue of this.#state.outgoing.values()) {
        for (const p of queue)
          if (p.brokerId === broker.id && typeof p.brokerCounter === 'number') broker.counter = Math.max(broker.counter, p.brokerCounter);
      }
      // Start from a fresh snapshot: the journals read (torn tails included) are absorbed and deleted.
      this.#generation = report.lastGeneration + 1;
      this.#writer = new JournalWriter({ path: journalPath(dir, this.#generation), groupCommitMs: this.#opts.groupCommitMs });
      await writeSnapshot(dir, snapshotLines(this.#state, this.#generation));
      await removeJournalsBefore(dir, this.#generation);
      this.#timer = setInterval(() => {
        if ((this.#writer?.bytes ?? 0) > 0) void this.compact().catch(() => undefined);
      }, this.#opts.compactIntervalMs);
      this.#timer.unref();
      const s = this.stats();
      this.#logger.info(
        {
          dir,
          retained: s.retained,
          sessions: s.sessions,
          queued: s.queued,
          wills: s.wills,
          records: report.snapshotRecords + report.journalRecords,
          ms: Date.now() - started,
        },
        'broker state loaded',
      );
    } catch (err) {
      await this.#lock.release();
      throw err;
    }
  }

  // ── retained ──────────────────────────────────────────────────────────────

  async storeRetained(packet: StoredPacket): Promise<void> {
    const payload = packet.payload;
    if (typeof payload === 'object' && payload !== null && this.#storedBeforeAck.has(payload)) {
      this.#storedBeforeAck.delete(payload);
      return;
    }
    const copy = { ...packet };
    const empty = !(payload as { length?: number } | undefined)?.length;
    if (!empty && !this.#state.retained.has(copy.topic ?? '') && this.#state.retained.size >= this.#opts.maxRetainedMessages) {
      throw new Error(`retained message limit (${this.#opts.maxRetainedMessages}) reached; not retaining ${copy.topic}`);
    }
    await this.#change({ op: 'retain', packet: copy }, true);
  }

  /**
   * Stores a retained PUBLISH durably before it is acknowledged. Aedes 1.x writes the PUBACK before
   * it stores the retained message, so the broker calls this from authorizePublish (which runs
   * before the PUBACK); Aedes' own storeRetained for the same packet is then a no-op.
   */
  async storeRetainedBeforeAck(packet: { topic: string; payload: unknown; qos: number; retain: boolean }): Promise<void> {
    await this.storeRetained(new Packet(packet as StoredPacket));
    if (typeof packet.payload === 'object' && packet.payload !== null) this.#storedBeforeAck.add(packet.payload);
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(this.#state.retainedMatching([pattern]));
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.#state.retainedMatching(patterns));
  }

  // ── subscriptions of persistent sessions ─────────────────────────────────

  async addSubscriptions(client: ClientRef, subs: ClientSubscription[]): Promise<void> {
    const stored = this.#state.subscriptions.get(client.id);
    const fresh = new Set(subs.map((s) => s.topic).filter((t) => !stored?.has(t)));
    if ((stored?.size ?? 0) + fresh.size > this.#opts.maxSubscriptionsPerClient) {
      throw new Error(`client ${client.id} would hold more than ${this.#opts.maxSubscriptionsPerClient} subscriptions`);
    }
    const clean = subs.map(({ topic, qos, rh, rap, nl, subscriptionIdentifier }) => ({ topic, qos, rh, rap, nl, subscriptionIdentifier }));
    await this.#change({ op: 'subscribe', clientId: client.id, subs: clean }, true);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    if (!this.#state.subscriptions.has(client.id)) return;
    await this.#change({ op: 'unsubscribe', clientId: client.id, topics }, true);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    // Called on every clean-session CONNECT: journal only when there is something to remove.
    if (!this.#state.subscriptions.has(client.id)) return;
    await this.#change({ op: 'cleanSubscriptions', clientId: client.id }, true);
  }

  async subscriptionsByClient(client: ClientRef): Promise<ClientSubscription[]> {
    const stored = this.#state.subscriptions.get(client.id);
    return stored ? [...stored].map(([topic, options]) => ({ topic, ...options })) : [];
  }

  async subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    return this.#state.subscriptionsByTopic(topic);
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.#state.subscriptionCount, clientsCount: this.#state.subscriptions.size };
  }

  getClientList(topic: string): Readable {
    const ids = [...this.#state.subscriptions].filter(([, subs]) => subs.has(topic)).map(([id]) => id);
    return Readable.from(ids);
  }

  // ── outgoing queue of persistent sessions ────────────────────────────────

  async outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet);
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: StoredPacket): Promise<void> {
    const accepted: string[] = [];
    const added = new Map<string, number>();
    const fixups: Array<{ clientId: string; messageId: number | undefined }> = [];
    for (const { clientId } of subs) {
      const adopted = this.#adopted.get(adoptedKey(clientId, packet));
      if (adopted) {
        this.#adopted.delete(adoptedKey(clientId, packet));
        if (adopted.acked) continue;
        fixups.push({ clientId, messageId: adopted.messageId });
      }
      const length = (this.#state.outgoing.get(clientId)?.length ?? 0) + (added.get(clientId) ?? 0);
      if (length < this.#opts.maxQueuedPerClient) {
        accepted.push(clientId);
        added.set(clientId, (added.get(clientId) ?? 0) + 1);
      } else {
        this.#droppedQueued++;
        if (!this.#overflowing.has(clientId)) {
          this.#overflowing.add(clientId);
          this.#logger.warn(
            { clientId, limit: this.#opts.maxQueuedPerClient, topic: packet.topic },
            'session queue full: dropping new messages for it',
          );
        }
      }
    }
    if (accepted.length === 0) return;
    const stored = this.#change({ op: 'enqueue', clientIds: accepted, packet }, true);
    // Already delivered live (see outgoingUpdate): queued with the packet id it went out with, so its PUBACK clears it.
    for (const f of fixups) {
      const update = { brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, messageId: f.messageId } as StoredPacket;
      this.#state.apply({ op: 'updateOutgoing', clientId: f.clientId, packet: update });
      this.#journal({ op: 'updateOutgoing', clientId: f.clientId, packet: update }, false);
    }
    await stored;
  }

  async outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    this.#writable();
    if (!this.#state.hasOutgoing(client.id, packet) && packet.brokerId !== undefined && packet.brokerCounter !== undefined) {
      // Aedes delivers a publish to an online persistent session and, separately and after the
      // PUBACK, enqueues it for that session (subscriptionsByTopic is asynchronous). A session that
      // connected in between (a login answered from the cache takes a millisecond) gets the live
      // delivery first; its update finds nothing and Aedes would disconnect the client. Remember
      // the packet id it went out with: the late enqueue takes it (or is skipped once acknowledged).
      this.#adopted.set(adoptedKey(client.id, packet), { clientId: client.id, messageId: packet.messageId, acked: false });
      if (this.#adopted.size > 10_000) this.#adopted.delete(this.#adopted.keys().next().value as string);
      return;
    }
    const outcome = this.#state.apply({ op: 'updateOutgoing', clientId: client.id, packet });
    // For a packet id assignment, the three fields the search reads are enough to replay it.
    const logged =
      outcome === 'messageId' ? { brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, messageId: packet.messageId } : packet;
    this.#journal({ op: 'updateOutgoing', clientId: client.id, packet: logged }, false);
  }

  async outgoingClearMessageId(client: ClientRef, packet: StoredPacket | number): Promise<StoredPacket | undefined> {
    this.#writable();
    const messageId = typeof packet === 'object' && packet !== null ? packet.messageId : undefined;
    const removed = this.#state.apply({ op: 'clearOutgoing', clientId: client.id, messageId });
    if (removed === undefined) {
      for (const a of this.#adopted.values()) if (a.clientId === client.id && a.messageId === messageId) a.acked = true;
      return undefined;
    }
    this.#journal({ op: 'clearOutgoing', clientId: client.id, messageId }, false);
    if ((this.#state.outgoing.get(client.id)?.length ?? 0) < this.#opts.maxQueuedPerClient) this.#overflowing.delete(client.id);
    return removed as StoredPacket;
  }

  outgoingStream(client: ClientRef): Readable {
    // a copy: the queue changes while Aedes streams it
    return Readable.from([...(this.#state.outgoing.get(client.id) ?? [])]);
  }

  // ── incoming QoS 2 ──────────────────────────────────────────────────────

  async incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    const copy = new Packet(packet);
    copy.messageId = packet.messageId;
    await this.#change({ op: 'storeIncoming', clientId: client.id, packet: copy }, true);
  }

  async incomingGetPacket(client: ClientRef, packet: { messageId?: number }): Promise<StoredPacket> {
    const stored = this.#state.incoming.get(client.id)?.get(packet.messageId ?? 0);
    if (!stored) throw new Error('no such packet');
    return stored;
  }

  async incomingDelPacket(client: ClientRef, packet: { messageId?: number }): Promise<void> {
    await this.#change({ op: 'deleteIncoming', clientId: client.id, messageId: packet.messageId ?? 0 }, false);
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    if (!this.#state.incoming.has(client.id)) return;
    await this.#change({ op: 'cleanIncoming', clientId: client.id }, false);
  }

  // ── wills ───────────────────────────────────────────────────────────────

  async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    // Stamped with the broker holding the connection: after a restart (new broker id) Aedes sees
    // the will as belonging to a dead broker and publishes it, as MQTT requires.
    packet.brokerId = this.#broker?.id;
    packet.clientId = client.id;
    await this.#change({ op: 'putWill', clientId: client.id, packet }, true);
  }

  async getWill(client: ClientRef): Promise<StoredPacket | undefined> {
    return this.#state.wills.get(client.id);
  }

  async delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const will = this.#state.wills.get(client.id);
    if (will) await this.#change({ op: 'deleteWill', clientId: client.id }, true);
    return will;
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    return Readable.from([...this.#state.wills.values()].filter((w) => !brokers[w.brokerId ?? '']));
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /** Resolves once every change made so far is on disk. */
  async flush(): Promise<void> {
    await this.#writer?.flush();
  }

  /** Writes a snapshot of the current state and deletes the journals it absorbs. */
  compact(): Promise<void> {
    this.#compaction ??= this.#compactNow().finally(() => {
      this.#compaction = undefined;
    });
    return this.#compaction;
  }

  /** Flushes and closes the journal and releases the directory; a second call waits for the first. */
  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      clearInterval(this.#timer);
      await this.#compaction?.catch(() => undefined);
      try {
        await this.#writer?.close();
      } finally {
        await this.#lock?.release();
      }
    })();
    return this.#destroyed;
  }

  stats(): FilePersistenceStats {
    let queued = 0;
    for (const q of this.#state.outgoing.values()) queued += q.length;
    let incoming = 0;
    for (const m of this.#state.incoming.values()) incoming += m.size;
    return {
      retained: this.#state.retained.size,
      sessions: this.#state.subscriptions.size,
      queued,
      incoming,
      wills: this.#state.wills.size,
      journalBytes: this.#writer?.bytes ?? 0,
      journalGeneration: this.#generation,
      compactions: this.#compactions,
      droppedQueued: this.#droppedQueued,
    };
  }

  async #compactNow(): Promise<void> {
    const writer = this.#writable();
    const generation = this.#generation + 1;
    // Same tick: the snapshot holds exactly what the journal held before the switch.
    const lines = snapshotLines(this.#state, generation);
    writer.rotate(journalPath(this.#opts.dir, generation));
    this.#generation = generation;
    try {
      await writeSnapshot(this.#opts.dir, lines);
      await removeJournalsBefore(this.#opts.dir, generation);
      this.#compactions++;
      this.#logger.debug({ generation, records: lines.length - 1 }, 'broker state compacted');
    } catch (err) {
      // The journals are still complete; the next start replays them all.
      this.#logger.error({ err, dir: this.#opts.dir }, 'broker state compaction failed');
      throw err;
    }
  }

  #writable(): JournalWriter {
    if (!this.#writer) throw new Error('file persistence used before setup');
    if (this.#destroyed) throw new Error('file persistence is closed');
    if (this.#writer.failure) throw this.#writer.failure;
    return this.#writer;
  }

  /** Applies a change to the state and journals it (waiting for the fsync when `durable`). */
  async #change(record: StateRecord, durable: boolean): Promise<void> {
    this.#writable();
    this.#state.apply(record);
    await this.#journal(record, durable);
  }

  #journal(record: StateRecord, durable: boolean): Promise<void> | undefined {
    const writer = this.#writable();
    const line = encodeRecord(record);
    const done = durable ? writer.appendDurable(line) : writer.append(line);
    if (writer.bytes > this.#opts.maxJournalBytes && !this.#compaction) void this.compact().catch(() => undefined);
    if (!done) return undefined;
    return done.catch((err: unknown) => {
      if (!this.#failureLogged) {
        this.#failureLogged = true;
        this.#logger.error({ err, dir: this.#opts.dir }, 'broker state journal write failed; changes are refused until a restart');
      }
      throw err;
    });
  }
}

function adoptedKey(clientId: string, packet: StoredPacket): string {
  return `${clientId}\u0000${packet.brokerId ?? ''}\u0000${packet.brokerCounter ?? ''}`;
}
