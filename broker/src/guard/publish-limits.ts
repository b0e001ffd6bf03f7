import { TokenBucket, type Now } from './token-bucket';

export interface PublishRateConfig {
  /** PUBLISH packets per second per client, sustained, and the burst on top */
  messagesPerSecond: number;
  messagesBurst: number;
  /** payload bytes per second per client, sustained, and the burst (at least one max-size payload) */
  bytesPerSecond: number;
  bytesBurst: number;
}

/** One client's publish budget: a message bucket and a byte bucket; both must have room. */
export class PublishRate {
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;

  constructor(config: PublishRateConfig, now: Now = Date.now) {
    this.#messages = new TokenBucket(config.messagesPerSecond, config.messagesBurst, now);
    this.#bytes = new TokenBucket(config.bytesPerSecond, config.bytesBurst, now);
  }

  /** 'messages' or 'bytes' when over the limit, else undefined (and the publish is counted). */
  take(bytes: number): 'messages' | 'bytes' | undefined {
    if (!this.#messages.take(1)) return 'messages';
    if (!this.#bytes.take(bytes)) return 'bytes';
    return undefined;
  }
}

export interface RetainedQuotaConfig {
  /** retained messages one gateway may keep on the broker (its state + one per device) */
  maxMessages: number;
  /** total payload bytes of those */
  maxBytes: number;
}

/**
 * Retained messages kept per gateway, by topic. Aedes keeps every retained message until it is
 * cleared, in memory and (with --data) on disk, so a gateway inventing topics could fill both.
 * A retained PUBLISH that would take a gateway over its count or bytes is refused; an empty
 * retained payload deletes the topic's message and frees its share.
 */
export class RetainedQuota {
  readonly #byGateway = new Map<string, { topics: Map<string, number>; bytes: number }>();

  constructor(readonly config: RetainedQuotaConfig) {}

  usage(gateway: string): { messages: number; bytes: number } {
    const g = this.#byGateway.get(gateway);
    return { messages: g?.topics.size ?? 0, bytes: g?.bytes ?? 0 };
  }

  /** Records a retained message whatever the quota (one restored from disk after limits were lowered). */
  force(gateway: string, topic: string, bytes: number): void {
    let g = this.#byGateway.get(gateway);
    if (!g) {
      g = { topics: new Map(), bytes: 0 };
      this.#byGateway.set(gateway, g);
    }
    g.bytes += bytes - (g.topics.get(topic) ?? 0);
    g.topics.set(topic, bytes);
  }

  /** Records a retained publish if it fits; 'messages' or 'bytes' says which quota it would break. */
  take(gateway: string, topic: string, bytes: number): 'messages' | 'bytes' | undefined {
    let g = this.#byGateway.get(gateway);
    const previous = g?.topics.get(topic);
    if (bytes === 0) {
      if (g && previous !== undefined) {
        g.topics.delete(topic);
        g.bytes -= previous;
        if (g.topics.size === 0) this.#byGateway.delete(gateway);
      }
      return undefined;
    }
    const messages = (g?.topics.size ?? 0) + (previous === undefined ? 1 : 0);
    const total = (g?.bytes ?? 0) - (previous ?? 0) + bytes;
    if (messages > this.config.maxMessages) return 'messages';
    if (total > this.config.maxBytes) return 'bytes';
    if (!g) {
      g = { topics: new Map(), bytes: 0 };
      this.#byGateway.set(gateway, g);
    }
    g.topics.set(topic, bytes);
    g.bytes = total;
    return undefined;
  }
}
