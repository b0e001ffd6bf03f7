// The LAN endpoint's retained messages (devices' births and wills), bounded in total size. A
// filter without wildcards (every device's) is answered with one map lookup: a storm of 5,000
// reconnecting devices each subscribing after 5,000 retained births is 5,000 lookups, not 25
// million topic matches.
import type { QoS } from 'mqtt-packet';

export interface RetainedPacket {
  topic: string;
  payload: Buffer;
  qos: QoS;
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
    // A copy: the parser's payload may be a view into the whole chunk the socket read.
    const kept = { topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos };
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
}
