// What the LAN endpoint keeps per MQTT client id (MQTT 3.1.1 §4.1): its subscriptions, the QoS 1/2
// messages sent and not yet acknowledged (resent on reconnect, [MQTT-4.4.0-1]), those waiting for
// room in that window or for the client to come back (a persistent session), and the QoS 2 ids it
// sent us whose PUBREL has not arrived (so a resent PUBLISH is not delivered twice). Kept lean: a
// gateway holds one per device, and what a session does not use (a window, a queue) is not allocated.
import type { QoS } from 'mqtt-packet';

/** A message on its way to one client. */
export interface Outgoing {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** packet id, once sent */
  id: number;
  /** QoS 2: PUBREC received, PUBREL sent (resent as PUBREL on reconnect) */
  released: boolean;
}

/** How a session reaches its client while one is connected. */
export interface SessionLink {
  /** writes a PUBLISH (dup when resent) */
  publish(msg: Outgoing, dup: boolean): void;
  pubrel(id: number): void;
  /** bytes written and not yet taken by the kernel: QoS 0 is dropped above a bound */
  readonly backlogBytes: number;
}

/** Unacknowledged QoS 1/2 messages in flight to one client: beyond, they wait in its queue. */
export const MAX_INFLIGHT = 100;
/** Messages one session holds waiting (window full, or client away): beyond, the oldest is dropped. */
export const MAX_QUEUED = 1_000;
/** QoS 0 is not sent to a client that has this much unread already (it is not reading). */
export const MAX_BACKLOG_BYTES = 1024 * 1024;

export class LanSession {
  link: SessionLink | null = null;
  /** [filter, granted QoS] pairs: a device has one or two, and an array of them is a fraction of a Map */
  subs: Array<[string, QoS]> | null = null;
  #inflight: Map<number, Outgoing> | null = null;
  #queue: Outgoing[] | null = null;
  #incoming: Set<number> | null = null;
  #lastId = 0;
  /** messages dropped for this client (queue full, or QoS 0 to a client not reading) */
  dropped = 0;

  constructor(
    readonly clientId: string,
    public clean: boolean,
  ) {}

  /** Hands one message to this client: written now, queued behind the window, or dropped (QoS 0 while away). */
  deliver(topic: string, payload: Buffer, qos: QoS, retain: boolean): void {
    if (qos === 0) {
      if (this.link !== null && this.link.backlogBytes < MAX_BACKLOG_BYTES) {
        this.link.publish({ topic, payload, qos, retain, id: 0, released: false }, false);
      } else if (this.link !== null) this.dropped++;
      return;
    }
    const msg: Outgoing = { topic, payload, qos, retain, id: 0, released: false };
    if (this.link !== null && (this.#inflight?.size ?? 0) < MAX_INFLIGHT && (this.#queue?.length ?? 0) === 0) {
      this.#send(msg);
      return;
    }
    if (this.#queue === null) this.#queue = [];
    const queue = this.#queue;
    if (queue.length >= MAX_QUEUED) {
      queue.shift();
      this.dropped++;
    }
    queue.push(msg);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is done, the window moves on. */
  completed(id: number): void {
    if (this.#inflight?.delete(id)) this.#pump();
  }

  /** PUBREC: answer PUBREL, and remember it was released (a reconnect resends the PUBREL, not the PUBLISH). */
  received(id: number): void {
    const msg = this.#inflight?.get(id);
    if (msg !== undefined) msg.released = true;
    this.link?.pubrel(id);
  }

  /** A client's QoS 2 PUBLISH: true the first time this id is seen (deliver it), false for a resend. */
  firstReceipt(id: number): boolean {
    if (this.#incoming === null) this.#incoming = new Set();
    const incoming = this.#incoming;
    if (incoming.has(id)) return false;
    incoming.add(id);
    return true;
  }

  /** A client's PUBREL: the QoS 2 id may be used again. */
  released(id: number): void {
    this.#incoming?.delete(id);
  }

  /** The client (re)connected: resend what it had not acknowledged, in order, then what waited. */
  resume(link: SessionLink): void {
    this.link = link;
    if (this.#inflight !== null) {
      for (const msg of this.#inflight.values()) {
        if (msg.released) link.pubrel(msg.id);
        else link.publish(msg, true);
      }
    }
    this.#pump();
  }

  /** The QoS granted for `filter`, or undefined. */
  grantedFor(filter: string): QoS | undefined {
    if (this.subs === null) return undefined;
    for (const [f, q] of this.subs) if (f === filter) return q;
    return undefined;
  }

  get subscriptionCount(): number {
    return this.subs?.length ?? 0;
  }

  get inflight(): number {
    return this.#inflight?.size ?? 0;
  }

  get queued(): number {
    return this.#queue?.length ?? 0;
  }

  #send(msg: Outgoing): void {
    if (this.#inflight === null) this.#inflight = new Map();
    const inflight = this.#inflight;
    do {
      this.#lastId = (this.#lastId % 65_535) + 1;
    } while (inflight.has(this.#lastId));
    msg.id = this.#lastId;
    inflight.set(msg.id, msg);
    this.link?.publish(msg, false);
  }

  #pump(): void {
    const queue = this.#queue;
    while (this.link !== null && queue !== null && queue.length > 0 && (this.#inflight?.size ?? 0) < MAX_INFLIGHT) {
      this.#send(queue.shift() as Outgoing);
    }
    if (queue !== null && queue.length === 0) this.#queue = null;
    if (this.#inflight !== null && this.#inflight.size === 0) this.#inflight = null;
  }
}
