import { createRequire } from 'node:module';
import { z } from 'zod';

/**
 * The broker state Aedes keeps in its persistence, held in memory with the exact semantics of
 * aedes-persistence 11's in-memory back end (asyncPersistence.js), but changed only through
 * records (`apply`). The same records are journaled, and replaying them rebuilds the same state,
 * so what is on disk is by construction what the broker had.
 */

const require = createRequire(import.meta.url);

/** A packet as Aedes hands it over (aedes-packet fields plus whatever MQTT 5 adds). */
export type StoredPacket = { [field: string]: unknown } & {
  cmd?: string;
  topic?: string;
  payload?: unknown;
  qos?: number;
  retain?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
};

interface BrokerRef {
  id: string;
  counter: number;
}

/** aedes-packet (what the in-memory persistence uses to copy a packet); a dependency of aedes. */
export const Packet = require('aedes-packet') as new (original: StoredPacket, broker?: BrokerRef) => StoredPacket;

export interface SubscriptionOptions {
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  /** MQTT 5 subscription identifier: kept per client, never in the topic trie (as aedes-persistence does) */
  subscriptionIdentifier?: number;
}
export interface ClientSubscription extends SubscriptionOptions {
  topic: string;
}
export interface TopicSubscription extends SubscriptionOptions {
  clientId: string;
  topic: string;
}

interface SubscriptionTrie {
  add(topic: string, value: TopicSubscription): void;
  remove(topic: string, value: { clientId: string; topic: string }): void;
  match(topic: string): TopicSubscription[];
  readonly subscriptionsCount: number;
}
interface TopicPatternSet {
  add(pattern: string): void;
  test(topic: string): boolean;
}
// qlobber ships no types; these are the calls aedes-persistence makes.
const QlobberSub = require('qlobber/aedes/qlobber-sub') as new (opts: object) => SubscriptionTrie;
const { QlobberTrue } = require('qlobber') as { QlobberTrue: new (opts: object) => TopicPatternSet };
const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' };

const PacketSchema = z.record(z.string(), z.unknown()) as z.ZodType<StoredPacket>;
const SubscriptionSchema = z.object({
  topic: z.string(),
  qos: z.number().int().min(0).max(2),
  rh: z.number().int().optional(),
  rap: z.boolean().optional(),
  nl: z.boolean().optional(),
  subscriptionIdentifier: z.number().int().optional(),
});
const clientId = z.string();

/** One change of the broker state: a journal line, or a line of a snapshot (which also uses `restoreOutgoing`). */
export const StateRecordSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('retain'), packet: PacketSchema }),
  z.object({ op: z.literal('subscribe'), clientId, subs: z.array(SubscriptionSchema) }),
  z.object({ op: z.literal('unsubscribe'), clientId, topics: z.array(z.string()) }),
  z.object({ op: z.literal('cleanSubscriptions'), clientId }),
  z.object({ op: z.literal('enqueue'), clientIds: z.array(clientId), packet: PacketSchema }),
  z.object({ op: z.literal('updateOutgoing'), clientId, packet: PacketSchema }),
  z.object({ op: z.literal('clearOutgoing'), clientId, messageId: z.number().optional() }),
  z.object({ op: z.literal('restoreOutgoing'), clientId, packets: z.array(PacketSchema) }),
  z.object({ op: z.literal('storeIncoming'), clientId, packet: PacketSchema }),
  z.object({ op: z.literal('deleteIncoming'), clientId, messageId: z.number() }),
  z.object({ op: z.literal('cleanIncoming'), clientId }),
  z.object({ op: z.literal('putWill'), clientId, packet: PacketSchema }),
  z.object({ op: z.literal('deleteWill'), clientId }),
]);
export type StateRecord = z.infer<typeof StateRecordSchema>;

/** What `updateOutgoing` did: set the messageId of a queued publish, or replaced an entry (PUBREL). */
export type OutgoingUpdate = 'messageId' | 'replaced';

export class BrokerState {
  /** topic → retained publish */
  readonly retained = new Map<string, StoredPacket>();
  /** clientId → (filter → options), clean=false clients only (Aedes stores nothing else) */
  readonly subscriptions = new Map<string, Map<string, SubscriptionOptions>>();
  /** clientId → queued QoS 1/2 packets (and PUBRELs) in delivery order */
  readonly outgoing = new Map<string, StoredPacket[]>();
  /** clientId → (messageId → incoming QoS 2 publish awaiting PUBREL) */
  readonly incoming = new Map<string, Map<number, StoredPacket>>();
  /** clientId → will, stamped with the broker id that holds the connection */
  readonly wills = new Map<string, StoredPacket>();
  readonly #trie = new QlobberSub(QLOBBER_OPTIONS);

  apply(record: StateRecord): StoredPacket | OutgoingUpdate | undefined {
    switch (record.op) {
      case 'retain': {
        const payload = record.packet.payload as { length?: number } | undefined;
        if (!payload || payload.length === 0) this.retained.delete(record.packet.topic ?? '');
        else this.retained.set(record.packet.topic ?? '', record.packet);
        return undefined;
      }
      case 'subscribe':
        return this.#subscribe(record.clientId, record.subs);
      case 'unsubscribe':
        return this.#unsubscribe(record.clientId, record.topics);
      case 'cleanSubscriptions':
        return this.#cleanSubscriptions(record.clientId);
      case 'enqueue':
        for (const id of record.clientIds) this.#queue(id).push(new Packet(record.packet));
        return undefined;
      case 'updateOutgoing':
        return this.#updateOutgoing(record.clientId, record.packet);
      case 'clearOutgoing':
        return this.#clearOutgoing(record.clientId, record.messageId);
      case 'restoreOutgoing':
        this.outgoing.set(record.clientId, [...record.packets]);
        return undefined;
      case 'storeIncoming': {
        const store = this.incoming.get(record.clientId) ?? new Map<number, StoredPacket>();
        this.incoming.set(record.clientId, store);
        store.set(record.packet.messageId ?? 0, record.packet);
        return undefined;
      }
      case 'deleteIncoming':
        if (!this.incoming.get(record.clientId)?.delete(record.messageId)) throw new Error('no such packet');
        return undefined;
      case 'cleanIncoming':
        this.incoming.delete(record.clientId);
        return undefined;
      case 'putWill':
        this.wills.set(record.clientId, record.packet);
        return undefined;
      case 'deleteWill':
        this.wills.delete(record.clientId);
        return undefined;
    }
  }

  /** Records that rebuild this state from nothing, for a snapshot. */
  *records(): Generator<StateRecord> {
    for (const packet of this.retained.values()) yield { op: 'retain', packet };
    for (const [id, subs] of this.subscriptions) {
      yield { op: 'subscribe', clientId: id, subs: [...subs].map(([topic, options]) => ({ topic, ...options })) };
    }
    for (const [id, packets] of this.outgoing) if (packets.length > 0) yield { op: 'restoreOutgoing', clientId: id, packets };
    for (const [id, store] of this.incoming) for (const packet of store.values()) yield { op: 'storeIncoming', clientId: id, packet };
    for (const [id, packet] of this.wills) yield { op: 'putWill', clientId: id, packet };
  }

  retainedMatching(patterns: string[]): StoredPacket[] {
    const out: StoredPacket[] = [];
    for (const pattern of patterns) {
      const matcher = new QlobberTrue(QLOBBER_OPTIONS);
      matcher.add(pattern);
      for (const [topic, packet] of this.retained) if (matcher.test(topic)) out.push(packet);
    }
    return out;
  }

  /** QoS > 0 subscriptions of persistent sessions matching a topic */
  subscriptionsByTopic(topic: string): TopicSubscription[] {
    return this.#trie.match(topic);
  }

  get subscriptionCount(): number {
    return this.#trie.subscriptionsCount;
  }

  #queue(id: string): StoredPacket[] {
    const queue = this.outgoing.get(id) ?? [];
    this.outgoing.set(id, queue);
    return queue;
  }

  #subscribe(id: string, subs: ClientSubscription[]): undefined {
    const stored = this.subscriptions.get(id) ?? new Map<string, SubscriptionOptions>();
    this.subscriptions.set(id, stored);
    for (const sub of subs) {
      const previous = stored.get(sub.topic);
      const options: SubscriptionOptions = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
      if (sub.subscriptionIdentifier !== undefined) options.subscriptionIdentifier = sub.subscriptionIdentifier;
      if (sub.qos > 0) {
        this.#trie.add(sub.topic, { clientId: id, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl });
      } else if (previous && previous.qos > 0) {
        this.#trie.remove(sub.topic, { clientId: id, topic: sub.topic });
      }
      stored.set(sub.topic, options);
    }
    return undefined;
  }

  #unsubscribe(id: string, topics: string[]): undefined {
    const stored = this.subscriptions.get(id);
    if (!stored) return undefined;
    for (const topic of topics) {
      const previous = stored.get(topic);
      if (previous === undefined) continue;
      if (previous.qos > 0) this.#trie.remove(topic, { clientId: id, topic });
      stored.delete(topic);
    }
    if (stored.size === 0) this.subscriptions.delete(id);
    return undefined;
  }

  #cleanSubscriptions(id: string): undefined {
    const stored = this.subscriptions.get(id);
    if (!stored) return undefined;
    for (const [topic, options] of stored) if (options.qos > 0) this.#trie.remove(topic, { clientId: id, topic });
    this.subscriptions.delete(id);
    return undefined;
  }

  /**
   * aedes-persistence's outgoingUpdate: the queued publish with the same broker id and counter
   * gets the packet's messageId; otherwise the entry with the same messageId from another broker
   * (a PUBREL replacing its publish) is replaced. The search reads only brokerId, brokerCounter and
   * messageId, which is why a journal record of the first case needs no more than those three.
   */
  /** Would an updateOutgoing of `packet` find its entry in the client's queue? (same search as below) */
  hasOutgoing(id: string, packet: StoredPacket): boolean {
    for (const queued of this.outgoing.get(id) ?? []) {
      if (queued.brokerId === packet.brokerId ? queued.brokerCounter === packet.brokerCounter : queued.messageId === packet.messageId)
        return true;
    }
    return false;
  }

  #updateOutgoing(id: string, packet: StoredPacket): OutgoingUpdate {
    const queue = this.outgoing.get(id) ?? [];
    for (let i = 0; i < queue.length; i++) {
      const queued = queue[i]!;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          return 'messageId';
        }
      } else if (queued.messageId === packet.messageId) {
        queue[i] = packet;
        return 'replaced';
      }
    }
    throw new Error('no such packet');
  }

  #clearOutgoing(id: string, messageId: number | undefined): StoredPacket | undefined {
    const queue = this.outgoing.get(id);
    if (!queue) return undefined;
    const i = queue.findIndex((p) => p.messageId === messageId);
    if (i === -1) return undefined;
    const [removed] = queue.splice(i, 1);
    if (queue.length === 0) this.outgoing.delete(id);
    return removed;
  }
}
