// The gateway's LAN MQTT 3.1.1 endpoint, written on mqtt-packet alone. It replaced an embedded
// Aedes broker, which cost ≈ 10 KB of heap per connected device (its client object, three stream
// states per connection, a frame-guard Duplex in front of it, a keepalive timer each): a tenth of
// a small gateway's memory for 1,000 devices. Here a connection is its socket, an mqtt-packet
// parser, a frame scanner and one small object; keepalives are checked by one sweep for all.
//
// It keeps what devices and tests rely on: CONNECT with a policy's verdict (CONNACK codes),
// QoS 0/1/2 both ways, persistent sessions (subscriptions, QoS 1/2 queued while away, unacknowledged
// ones resent on reconnect), retained messages, wills (on any end but DISCONNECT, takeover
// included), keepalive (1.5 × the client's), session takeover, and the policy's publish decision
// made BEFORE the acknowledgement: what a device publishes is in the agent's spool when its PUBACK
// leaves, and a message the agent could not store is never acknowledged (the connection is
// dropped, the device resends). Every queue is bounded (lan-session.ts; one chunk of parsed packets
// while a publish waits for its rate slot, since the socket is paused meanwhile).
import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type Packet, type Parser, type QoS } from 'mqtt-packet';
import { MqttFrameScanner } from '@poste/protocol/mqtt-guard';
import type { LanRefusal, LanRefusals } from './lan-policy';
import { forgetConnect, leanParser, releaseEmptyBuffer } from './lan-parser';
import { LanSession, type Outgoing, type SessionLink } from './lan-session';
import { SubscriptionIndex, validFilter, validTopicName } from './lan-subscriptions';
import type { RetainedStore } from './retained-store';

/** What a client sent in its CONNECT, for the policy. */
export interface ConnectRequest {
  clientId: string;
  clean: boolean;
  username: string | undefined;
  password: Buffer | undefined;
}

export type ConnectVerdict = { ok: true; identity: string | null } | { ok: false; code: 2 | 4 | 5; reason: LanRefusal; message: string };

/** A message a client publishes (or its will). */
export interface InboundPublish {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

/** 'now', ms to wait (the client is read no further meanwhile), or a refusal (counted, connection closed). */
export type PublishVerdict = number | { reason: LanRefusal; message: string };

export interface LanServerPolicy {
  connect(req: ConnectRequest): ConnectVerdict;
  /** `client` identifies the connection (rate buckets); `will` is true for a will, which is never delayed */
  authorizePublish(identity: string | null, msg: InboundPublish, client: object, will: boolean): PublishVerdict;
  /** Hands a permitted publish to the agent; 'retry' = not stored: no acknowledgement, connection dropped. */
  handle(msg: InboundPublish): 'accepted' | 'rejected' | 'retry';
  /** null = allowed; else the refusal (SUBACK 0x80 for that filter, the client stays) */
  authorizeSubscribe(identity: string | null, filter: string): { reason: LanRefusal; message: string } | null;
}

export interface LanServerLimits {
  /** remaining length allowed before the CONNECT is accepted */
  preAuthBytes: number;
  /** remaining length allowed after */
  maxPacketBytes: number;
  connectTimeoutMs: number;
  maxConnections: number;
}

interface Log {
  debug(obj: object, msg: string): void;
}

/** The property that ties a socket and a parser to their connection, for the shared listeners. */
const CONNECTION = Symbol('poste LAN connection');
type Tagged = { [CONNECTION]?: unknown };
const ignoreSocketError = (): void => undefined;

/** One TCP connection; its session once its CONNECT was accepted. */
class LanConnection implements SessionLink {
  session: LanSession | null = null;
  scanner: MqttFrameScanner | null = null;
  identity: string | null = null;
  will: InboundPublish | null = null;
  keepaliveMs = 0;
  lastSeen: number;
  closed = false;
  /** DISCONNECT received: no will */
  disconnected = false;
  /** a publish waits for its rate slot: further packets wait in `pending`, the socket is paused */
  busy = false;
  pending: Array<{ packet: Packet; at: number }> | null = null;
  connectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly server: LanServer,
    readonly socket: Socket,
    readonly parser: Parser,
    now: number,
  ) {
    this.lastSeen = now;
  }

  write(packet: Packet): void {
    if (!this.closed) this.socket.write(mqttPacket.generate(packet));
  }

  publish(msg: Outgoing, dup: boolean): void {
    this.write({ cmd: 'publish', topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, dup, messageId: msg.id });
  }

  pubrel(id: number): void {
    this.write({ cmd: 'pubrel', messageId: id });
  }

  get backlogBytes(): number {
    return this.socket.writableLength;
  }
}

function inboundOf(p: IPublishPacket): InboundPublish {
  return { topic: p.topic, payload: typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload, qos: p.qos, retain: p.retain };
}

/** How often keepalives are checked (one timer for every connection instead of one each). */
const KEEPALIVE_SWEEP_MS = 1_000;

export class LanServer {
  readonly #server: Server;
  readonly #conns = new Set<LanConnection>();
  readonly #sessions = new Map<string, LanSession>();
  /** persistent sessions without a connection, oldest first */
  readonly #away = new Set<LanSession>();
  readonly #subs = new SubscriptionIndex();
  readonly #sweep: NodeJS.Timeout;
  #connected = 0;
  #anonymous = 0;
  #closing = false;

  constructor(
    private readonly policy: LanServerPolicy,
    private readonly retained: RetainedStore,
    private readonly refusals: LanRefusals,
    private readonly limits: LanServerLimits,
    private readonly log: Log,
  ) {
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.maxConnections = limits.maxConnections;
    this.#server.on('drop', () => refusals.count('connections'));
    this.#sweep = setInterval(() => this.#checkKeepalives(), KEEPALIVE_SWEEP_MS);
    this.#sweep.unref();
  }

  get server(): Server {
    return this.#server;
  }

  get connectedClients(): number {
    return this.#connected;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** Publishes from the agent itself (commands, OTA): no policy, straight to the subscribers. */
  publish(topic: string, payload: Buffer, qos: QoS): void {
    this.#route(topic, payload, qos);
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweep);
    for (const c of this.#conns) this.#end(c, false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const parser = leanParser();
    const conn = new LanConnection(this, socket, parser, Date.now());
    this.#conns.add(conn);
    conn.scanner = new MqttFrameScanner({
      limit: () => (conn.session !== null ? this.limits.maxPacketBytes : this.limits.preAuthBytes),
      checkPacketTypes: true,
    });
    // Shared listeners that find their connection on the emitter, not closures per connection
    // (≈ 300 bytes each with their contexts, for 1,000 devices).
    (parser as Tagged)[CONNECTION] = conn;
    (socket as Tagged)[CONNECTION] = conn;
    parser.on('packet', LanServer.#onPacket);
    parser.on('error', LanServer.#onParseError);
    socket.on('data', LanServer.#onData);
    // A reset or a broken pipe is a device going away, not a refusal; 'close' follows either way.
    socket.on('error', ignoreSocketError);
    socket.on('close', LanServer.#onClose);
    conn.connectTimer = setTimeout(() => {
      if (conn.session === null) this.#fail(conn, 'connect-timeout', 'connect did not arrive in time');
    }, this.limits.connectTimeoutMs);
  }

  /** `at`: for a PUBLISH, when its rate slot comes (0 = now) */
  static readonly #onPacket = function (this: Parser, packet: Packet): void {
    const conn = (this as Tagged)[CONNECTION] as LanConnection;
    if (conn.closed) return;
    const server = conn.server;
    // A PUBLISH is admitted as it arrives, so a client's rate counts what it sent, not what was handled
    // yet: a flood parsed from one chunk overdraws its bucket at once and is refused, not just slowed.
    let at = 0;
    if (packet.cmd === 'publish' && conn.session !== null) {
      const admitted = server.#admit(conn, packet);
      if (admitted === null) return;
      at = admitted;
    }
    if (!conn.busy) server.#dispatch(conn, packet, at);
    else if (conn.pending === null) conn.pending = [{ packet, at }];
    else conn.pending.push({ packet, at });
  };

  static readonly #onParseError = function (this: Parser, err: Error): void {
    const conn = (this as Tagged)[CONNECTION] as LanConnection;
    conn.server.#fail(conn, 'malformed', err.message);
  };

  static readonly #onData = function (this: Socket, chunk: Buffer): void {
    const conn = (this as Tagged)[CONNECTION] as LanConnection;
    if (conn.closed) return;
    conn.lastSeen = Date.now();
    const v = conn.scanner?.feed(chunk);
    if (v !== undefined) {
      conn.server.#fail(conn, v.reason === 'packet-too-large' ? 'packet-too-large' : 'malformed', v.reason);
      return;
    }
    conn.parser.parse(chunk);
    releaseEmptyBuffer(conn.parser);
  };

  static readonly #onClose = function (this: Socket): void {
    const conn = (this as Tagged)[CONNECTION] as LanConnection;
    conn.server.#end(conn, true);
  };

  #dispatch(conn: LanConnection, packet: Packet, at: number): void {
    const session = conn.session;
    if (packet.cmd === 'connect') {
      this.#connect(conn, packet);
      return;
    }
    // The frame scanner lets nothing but a CONNECT come first; after a refused one the connection is closed.
    if (session === null) {
      this.#fail(conn, 'malformed', `${packet.cmd} before CONNECT`);
      return;
    }
    switch (packet.cmd) {
      case 'publish':
        this.#inbound(conn, session, packet, at);
        return;
      case 'puback':
      case 'pubcomp':
        session.completed(packet.messageId ?? 0);
        return;
      case 'pubrec':
        session.received(packet.messageId ?? 0);
        return;
      case 'pubrel':
        session.released(packet.messageId ?? 0);
        conn.write({ cmd: 'pubcomp', messageId: packet.messageId ?? 0 });
        return;
      case 'subscribe': {
        const granted: number[] = [];
        const fresh: Array<[string, QoS]> = [];
        for (const { topic: filter, qos } of packet.subscriptions) {
          const refusal = validFilter(filter) ? this.policy.authorizeSubscribe(conn.identity, filter) : null;
          if (!validFilter(filter) || refusal !== null) {
            if (refusal !== null) this.#refuse(refusal.reason, refusal.message, session.clientId);
            granted.push(0x80);
            continue;
          }
          const q = Math.min(qos, 2) as QoS;
          if (!this.#subs.add(filter, session, q)) {
            granted.push(0x80);
            continue;
          }
          granted.push(q);
          fresh.push([filter, q]);
        }
        conn.write({ cmd: 'suback', messageId: packet.messageId ?? 0, granted });
        // [MQTT-3.3.1-6]: retained messages matching a new subscription, flagged retained.
        for (const [filter, q] of fresh) {
          for (const r of this.retained.match(filter)) session.deliver(r.topic, r.payload, Math.min(r.qos, q) as QoS, true);
        }
        return;
      }
      case 'unsubscribe':
        for (const filter of packet.unsubscriptions) this.#subs.remove(filter, session);
        conn.write({ cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: [] });
        return;
      case 'pingreq':
        conn.write({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        conn.disconnected = true;
        this.#end(conn, false);
        return;
      default:
        this.#fail(conn, 'malformed', `${packet.cmd} from a client`);
        return;
    }
  }

  #connect(conn: LanConnection, p: IConnectPacket): void {
    clearTimeout(conn.connectTimer);
    conn.connectTimer = undefined;
    forgetConnect(conn.parser, p);
    if (p.protocolVersion !== 3 && p.protocolVersion !== 4) {
      conn.write({ cmd: 'connack', returnCode: 1, sessionPresent: false });
      this.#fail(conn, 'malformed', `unacceptable protocol version ${p.protocolVersion}`);
      return;
    }
    const clean = p.clean !== false;
    const clientId = p.clientId ?? '';
    const verdict = this.policy.connect({ clientId, clean, username: p.username, password: p.password });
    if (!verdict.ok) {
      this.#refuse(verdict.reason, verdict.message, clientId);
      conn.write({ cmd: 'connack', returnCode: verdict.code, sessionPresent: false });
      conn.closed = true;
      this.#conns.delete(conn);
      // [MQTT-3.2.2-5]: the CONNACK, then the end; destroyed once written, whatever the client does.
      conn.socket.end(() => conn.socket.destroy());
      return;
    }
    const id = clientId === '' ? `$anonymous-${++this.#anonymous}` : clientId;
    // [MQTT-3.1.4-2]: a second connection with this client id takes over; the first ends with its will.
    const previous = this.#sessions.get(id)?.link;
    if (previous instanceof LanConnection) this.#end(previous, true);
    let session = this.#sessions.get(id);
    if (session !== undefined && clean) {
      this.#discard(session);
      session = undefined;
    }
    const present = session !== undefined && session.subscriptionCount > 0;
    if (session === undefined) {
      session = new LanSession(id, clean);
      this.#sessions.set(id, session);
    }
    this.#away.delete(session);
    session.clean = clean;
    conn.session = session;
    conn.identity = verdict.identity;
    conn.keepaliveMs = (p.keepalive ?? 0) > 0 ? (p.keepalive ?? 0) * 1_500 + 1 : 0;
    if (p.will) {
      const payload = p.will.payload;
      conn.will = {
        topic: p.will.topic,
        payload: Buffer.from(typeof payload === 'string' ? Buffer.from(payload) : (payload ?? Buffer.alloc(0))),
        qos: p.will.qos ?? 0,
        retain: p.will.retain ?? false,
      };
    }
    this.#connected++;
    conn.write({ cmd: 'connack', returnCode: 0, sessionPresent: present });
    session.resume(conn);
  }

  /** The policy's verdict on a client's PUBLISH as it arrives: when it may go on (0 = now), or null (refused, connection ended). */
  #admit(conn: LanConnection, p: IPublishPacket): number | null {
    if (!validTopicName(p.topic)) {
      this.#fail(conn, 'malformed', `PUBLISH to ${JSON.stringify(p.topic.slice(0, 80))}`);
      return null;
    }
    const verdict = this.policy.authorizePublish(conn.identity, inboundOf(p), conn, false);
    if (typeof verdict !== 'number') {
      this.#fail(conn, verdict.reason, verdict.message);
      return null;
    }
    return verdict === 0 ? 0 : Date.now() + verdict;
  }

  #inbound(conn: LanConnection, session: LanSession, p: IPublishPacket, at: number): void {
    const msg = inboundOf(p);
    const id = p.messageId ?? 0;
    // A resent QoS 2 PUBLISH whose PUBREL has not come yet: delivered already, only the PUBREC again.
    if (p.qos === 2 && !session.firstReceipt(id)) {
      conn.write({ cmd: 'pubrec', messageId: id });
      return;
    }
    const wait = at - Date.now();
    if (at === 0 || wait <= 0) {
      this.#take(conn, msg, id);
      return;
    }
    // Back-pressure: nothing more is read from this client until its slot comes.
    conn.busy = true;
    conn.socket.pause();
    setTimeout(() => {
      conn.busy = false;
      if (conn.closed) return;
      this.#take(conn, msg, id);
      this.#drainPending(conn);
    }, wait);
  }

  /** Packets parsed while a publish waited, in order, until the next wait or the end. */
  #drainPending(conn: LanConnection): void {
    const pending = conn.pending;
    while (!conn.busy && !conn.closed && pending !== null && pending.length > 0) {
      const next = pending.shift() as { packet: Packet; at: number };
      this.#dispatch(conn, next.packet, next.at);
    }
    if (!conn.busy && !conn.closed) {
      conn.pending = null;
      conn.socket.resume();
    }
  }

  /** The policy handles it (the agent spools it), then it goes to subscribers, then the acknowledgement. */
  #take(conn: LanConnection, msg: InboundPublish, id: number): void {
    if (this.policy.handle(msg) === 'retry') {
      // Not stored on the gateway (spool full, disk error): no acknowledgement; the device resends.
      this.log.debug({ client: conn.session?.clientId, topic: msg.topic }, 'LAN publish not stored: connection dropped unacknowledged');
      if (msg.qos === 2) conn.session?.released(id);
      this.#end(conn, true);
      return;
    }
    if (msg.retain) this.retained.store(msg);
    this.#route(msg.topic, msg.payload, msg.qos);
    if (msg.qos === 1) conn.write({ cmd: 'puback', messageId: id });
    else if (msg.qos === 2) conn.write({ cmd: 'pubrec', messageId: id });
  }

  #route(topic: string, payload: Buffer, qos: QoS): void {
    this.#subs.forEachMatch(topic, (session, subQos) => session.deliver(topic, payload, Math.min(qos, subQos) as QoS, false));
  }

  #publishWill(identity: string | null, will: InboundPublish, client: object): void {
    const verdict = this.policy.authorizePublish(identity, will, client, true);
    if (typeof verdict !== 'number') {
      this.#refuse(verdict.reason, `will: ${verdict.message}`, identity ?? undefined);
      return;
    }
    if (this.policy.handle(will) === 'retry') return;
    if (will.retain) this.retained.store(will);
    this.#route(will.topic, will.payload, will.qos);
  }

  #checkKeepalives(): void {
    const now = Date.now();
    for (const c of this.#conns) {
      if (c.keepaliveMs > 0 && now - c.lastSeen > c.keepaliveMs) this.#fail(c, 'keepalive-timeout', 'keep alive timeout');
    }
  }

  #refuse(reason: LanRefusal, message: string, client: string | undefined): void {
    this.refusals.count(reason);
    this.log.debug({ client, reason }, `LAN refused: ${message}`);
  }

  /** A refusal or a protocol violation: counted, then the end (with the will). */
  #fail(conn: LanConnection, reason: LanRefusal, message: string): void {
    if (conn.closed) return;
    this.#refuse(reason, message, conn.session?.clientId);
    this.#end(conn, true);
  }

  /** Ends a connection (idempotent); its session stays if persistent; its will is published unless it said DISCONNECT. */
  #end(conn: LanConnection, withWill: boolean): void {
    if (conn.closed) {
      this.#conns.delete(conn);
      return;
    }
    conn.closed = true;
    clearTimeout(conn.connectTimer);
    this.#conns.delete(conn);
    conn.socket.destroy();
    const session = conn.session;
    conn.session = null;
    if (session === null) return;
    if (session.link === conn) {
      session.link = null;
      this.#connected--;
      if (session.clean) this.#discard(session);
      else this.#keepAway(session);
    }
    if (withWill && !conn.disconnected && conn.will !== null && !this.#closing) this.#publishWill(conn.identity, conn.will, conn);
  }

  #discard(session: LanSession): void {
    this.#subs.removeAll(session);
    this.#away.delete(session);
    if (this.#sessions.get(session.clientId) === session) this.#sessions.delete(session.clientId);
  }

  /** A persistent session waits for its client; beyond maxConnections of them, the longest away is dropped. */
  #keepAway(session: LanSession): void {
    this.#away.add(session);
    if (this.#away.size > this.limits.maxConnections) {
      const oldest = this.#away.values().next().value as LanSession;
      this.#discard(oldest);
    }
  }
}
