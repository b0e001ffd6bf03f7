// Types for the part of aedes-persistence-redis Poste uses. Its package ships no typings; its
// asyncPersistence.js is the promise-based persistence Aedes 1.x requires (persistence.js wraps
// it in callbacks for Aedes 0.x).
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { Redis } from 'ioredis';

  /** A will as stored: the CONNECT's will packet stamped with its client and the broker holding it. */
  export interface StoredWill {
    clientId: string;
    brokerId: string;
    topic: string;
    payload: Buffer;
    qos: 0 | 1 | 2;
    retain: boolean;
  }

  export interface RetainedPacket {
    topic: string;
    payload: Buffer;
    qos: number;
    retain: boolean;
  }

  export default class AsyncRedisPersistence {
    constructor(opts: { conn: Redis; maxSessionDelivery?: number });
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: object): Promise<void>;
    createRetainedStream(pattern: string): AsyncIterable<RetainedPacket>;
    createRetainedStreamCombi(patterns: string[]): AsyncIterable<RetainedPacket>;
    /** wills whose broker is not in `brokers` (all wills without it) */
    streamWill(brokers?: Record<string, number>): AsyncIterable<StoredWill>;
    delWill(client: { id: string; brokerId: string }): Promise<StoredWill | null>;
    /** the packets queued for a persistent session */
    outgoingStream(client: { id: string }): AsyncIterable<RetainedPacket>;
    countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
    destroy(): Promise<void>;
  }
}
