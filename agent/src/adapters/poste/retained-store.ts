// The LAN broker's retained messages, kept here instead of in Aedes' memory persistence, for two
// reasons. Speed: that persistence answers every SUBSCRIBE by testing the filter against every
// retained topic, so 5,000 devices each subscribing to their command topic after 5,000 retained
// births cost 25 million topic matches and held a storm of reconnects for tens of seconds; here a
// filter without wildcards (every device's) is one map lookup. Memory: the total size is bounded.
import { Readable } from 'node:stream';

interface RetainedPacket {
  topic: string;
  payload: Buffer | string;
}

/** The persistence methods Aedes calls for retained messages (callback style, as Aedes 1.x calls them). */
interface RetainedPersistence {
  storeRetained(packet: RetainedPacket, cb?: (err: Error | null) => void): unknown;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/** MQTT topic filter matching (§4.7): `+` one level, `#` the rest; `$`-topics never match a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const sizeOf = (p: RetainedPacket): number => p.topic.length + p.payload.length;

export class RetainedStore {
  readonly #byTopic = new Map<string, RetainedPacket>();
  #bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Would storing this retained publish keep the total within the bound? (An empty payload clears, always fine.) */
  fits(topic: string, payloadBytes: number): boolean {
    if (payloadBytes === 0) return true;
    const prev = this.#byTopic.get(topic);
    const after = this.#bytes - (prev ? sizeOf(prev) : 0) + topic.length + payloadBytes;
    return after <= this.maxBytes;
  }

  store(packet: RetainedPacket): void {
    const prev = this.#byTopic.get(packet.topic);
    if (prev) this.#bytes -= sizeOf(prev);
    if (packet.payload.length === 0) {
      this.#byTopic.delete(packet.topic);
      return;
    }
    const kept = { ...packet };
    this.#byTopic.set(packet.topic, kept);
    this.#bytes += sizeOf(kept);
  }

  *match(filter: string): Generator<RetainedPacket> {
    if (!filter.includes('+') && !filter.includes('#')) {
      const p = this.#byTopic.get(filter);
      if (p) yield p;
      return;
    }
    for (const p of this.#byTopic.values()) if (topicMatches(filter, p.topic)) yield p;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#byTopic.size;
  }

  /** Takes over the retained-message methods of an Aedes persistence instance (the memory one). */
  install(persistence: RetainedPersistence): void {
    persistence.storeRetained = (packet, cb) => {
      this.store(packet);
      if (cb) queueMicrotask(() => cb(null));
      return Promise.resolve();
    };
    persistence.createRetainedStream = (pattern) => Readable.from(this.match(pattern));
    persistence.createRetainedStreamCombi = (patterns) => {
      const self = this;
      return Readable.from(
        (function* () {
          for (const p of patterns) yield* self.match(p);
        })(),
      );
    };
  }
}
