import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { encode, parseTopic, topic, type DeviceCommand, type LocalOta } from '@poste/protocol';
import type { SinkResult } from '../types';
import type { LanLimits } from './config';
import type { DeviceCredentials } from './device-credentials';
import { GuardedConnection } from '@poste/protocol/mqtt-guard';
import { clientIdAcceptable, emptyClientIdAllowed, LanRefusals, mayPublish, maySubscribe, type LanRefusal } from './lan-policy';
import { PublishRate } from './publish-rate';
import { RetainedStore } from './retained-store';

/** The device → agent topic kinds the Poste adapter listens to on its LAN broker. */
export type LocalInboundKind = 'localDeviceState' | 'localTelemetry' | 'localEvent' | 'localAck' | 'localOtaStatus';

export type LocalHandlers = Record<LocalInboundKind, (deviceId: string, payload: Buffer) => SinkResult>;

/** Who may connect: per-device credentials, or anyone (open mode). */
export type LanAccess = { mode: 'credentials'; credentials: DeviceCredentials } | { mode: 'open' };

/** CONNECT is small: a client id, credentials and a will (a device state). More before login is not a device. */
const PRE_AUTH_PACKET_BYTES = 8 * 1024;
/** Room for a PUBLISH's fixed and variable header (topic, packet id) above the payload cap. */
const HEADER_ALLOWANCE_BYTES = 1024;
/** The kernel queue of connections not yet accepted: a whole street connecting in one second must not overflow it. */
const LISTEN_BACKLOG = 4_096;

/** An error the LAN broker raised on purpose: already counted, so the error listeners do not count it again. */
class LanRefusedError extends Error {
  constructor(
    readonly reason: LanRefusal,
    message: string,
    readonly returnCode?: number,
  ) {
    super(message);
  }
}

/**
 * The Poste adapter's LAN MQTT endpoint: an embedded Aedes broker that devices connect to. What
 * devices publish is handed to the agent inside Aedes' `authorizePublish` hook, before the PUBACK:
 * Aedes 1.x writes the QoS 1 PUBACK *before* it delivers to subscribers (in-process ones
 * included), so a subscription could only see a message the device already believes delivered.
 * In the hook, the agent validates the message and appends it to its spool synchronously; only
 * then is the device acknowledged. Wills pass through the same hook. Commands go out in-process.
 *
 * Storms: Aedes' message emitter (mqemitter) queues messages beyond `concurrency` in flight and,
 * when one completes synchronously (a subscriber that calls back at once, or a topic nobody
 * subscribes to), starts the next from inside that completion: a queue of thousands recursed
 * until "Maximum call stack size exceeded". Here concurrency is 0 (no emitter queue at all), so
 * nothing recurses; the bounds are where the work comes from instead — connections (maxConnections),
 * each client's packets (Aedes reads a client's next chunk only when the previous is handled), each
 * client's publish rate (PublishRate: slowed, then refused), packet size (GuardedConnection, before
 * buffering) and retained bytes (RetainedStore).
 */
export class LanBroker {
  readonly #broker: Aedes;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #refusals: LanRefusals;
  readonly #retained: RetainedStore;
  #port = 0;

  private constructor(broker: Aedes, refusals: LanRefusals, retained: RetainedStore, limits: LanLimits) {
    this.#broker = broker;
    this.#refusals = refusals;
    this.#retained = retained;
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      const guarded = new GuardedConnection(
        socket,
        { preAuthBytes: PRE_AUTH_PACKET_BYTES, maxPacketBytes: limits.maxPayloadBytes + HEADER_ALLOWANCE_BYTES, checkPacketTypes: true },
        (v) => refusals.count(v.reason === 'packet-too-large' ? 'packet-too-large' : 'malformed'),
      );
      broker.handle(guarded);
    });
    this.#server.maxConnections = limits.maxConnections;
    this.#server.on('drop', () => refusals.count('connections'));
  }

  static async start(
    host: string,
    port: number,
    handlers: LocalHandlers,
    log: Logger,
    access: LanAccess = { mode: 'open' },
    limits: LanLimits = DEFAULT_LIMITS,
  ): Promise<LanBroker> {
    const refusals = new LanRefusals();
    const retained = new RetainedStore(limits.maxRetainedBytes);
    const rate = new PublishRate(limits.publishPerSecond, limits.publishBurst, limits.maxWaitMs);
    /** What each connecting client sent as its id (Aedes replaces an empty one before authenticate runs). */
    const connectInfo = new WeakMap<Client, { clientId: string; clean: boolean }>();
    /**
     * Clients whose CONNECT was accepted, with their device id (null in open mode). Aedes hands a
     * PUBLISH or SUBSCRIBE that arrives right behind the CONNECT to the hooks while the login is
     * still being checked: such a packet must not pass as anyone's, so a client not in here is refused.
     */
    const identity = new WeakMap<Client, { device: string | null }>();
    const refuse = (reason: LanRefusal, message: string, client: Client | null, returnCode?: number): LanRefusedError => {
      refusals.count(reason);
      log.debug({ client: client?.id, reason }, `LAN refused: ${message}`);
      return new LanRefusedError(reason, message, returnCode);
    };

    const broker = await Aedes.createBroker({
      concurrency: 0,
      connectTimeout: limits.connectTimeoutMs,
      preConnect: (client, packet, done) => {
        connectInfo.set(client, { clientId: packet.clientId ?? '', clean: packet.clean !== false });
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const info = connectInfo.get(client) ?? { clientId: client.id, clean: client.clean };
        const fail = (reason: LanRefusal, message: string, code: 2 | 4 | 5): void =>
          done(refuse(reason, message, client, code) as unknown as AuthenticateError, false);
        if (info.clientId === '') {
          if (!emptyClientIdAllowed(info.clean, access.mode)) {
            return fail('client-id', `empty client id refused (clean session ${info.clean}, ${access.mode} mode)`, 2);
          }
        } else if (!clientIdAcceptable(info.clientId)) {
          return fail('client-id', `client id ${JSON.stringify(info.clientId.slice(0, 80))} is not a device id`, 2);
        }
        if (access.mode === 'credentials') {
          if (username === undefined || password === undefined || !access.credentials.verify(username, password)) {
            return fail('bad-credentials', `bad device id or secret for ${JSON.stringify(String(username).slice(0, 80))}`, 4);
          }
          // The identity is the login: a device cannot take another's client id (and its session).
          if (username !== info.clientId) {
            return fail('client-id', `client id ${info.clientId} is not the logged-in device ${username}`, 2);
          }
        }
        identity.set(client, { device: access.mode === 'credentials' ? (username ?? null) : null });
        if (client.conn instanceof GuardedConnection) client.conn.authenticated();
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        // In-process publishes (the agent's own commands) need no check.
        if (client === null || client === undefined) {
          done(null);
          return;
        }
        const who = identity.get(client);
        if (who === undefined) {
          done(refuse('before-connack', `${packet.topic}: PUBLISH before the CONNECT was accepted`, client));
          return;
        }
        const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
        if (size > limits.maxPayloadBytes) {
          done(refuse('packet-too-large', `${packet.topic}: payload ${size} bytes > ${limits.maxPayloadBytes}`, client));
          return;
        }
        const decision = mayPublish(who.device, packet.topic, packet.retain);
        if (!decision.ok) {
          done(refuse(decision.reason, decision.detail, client));
          return;
        }
        if (packet.retain && !retained.fits(packet.topic, size)) {
          done(refuse('retained-quota', `${packet.topic}: retained messages would exceed ${limits.maxRetainedBytes} bytes`, client));
          return;
        }
        const wait = rate.admit(client);
        if (wait === null) {
          done(
            refuse('rate', `over ${limits.publishPerSecond}/s (burst ${limits.publishBurst}) for more than ${limits.maxWaitMs} ms`, client),
          );
          return;
        }
        const hand = (): void => {
          // 'accepted' and 'rejected' are acknowledged (resending invalid data cannot fix it);
          // 'retry' is not: Aedes drops the connection without a PUBACK and the device resends.
          if (route(packet, handlers) === 'retry') done(new Error('not stored on the gateway (spool full or disk error); resend later'));
          else done(null);
        };
        // Back-pressure: Aedes reads nothing more from this client until the hook answers.
        if (wait > 0) setTimeout(hand, wait);
        else hand();
      },
      authorizeSubscribe: (client, sub, done) => {
        const who = identity.get(client);
        if (who === undefined) {
          done(refuse('before-connack', `${sub.topic}: SUBSCRIBE before the CONNECT was accepted`, client), null);
          return;
        }
        const decision = maySubscribe(who.device, sub.topic);
        if (decision.ok) done(null, sub);
        else {
          refuse(decision.reason, decision.detail, client);
          done(null, null); // SUBACK 0x80 for this filter; the device stays connected
        }
      },
    });
    retained.install((broker as unknown as { persistence: Parameters<RetainedStore['install']>[0] }).persistence);

    // Errors Aedes reports for a connection: ours are counted where raised; a protocol violation
    // (malformed packet, a second CONNECT, bad protocol version) is counted here; a socket that
    // merely went away (ECONNRESET, EPIPE) is not a refusal.
    const onError = (client: Client | null, err: Error & { code?: string }): void => {
      if (err instanceof LanRefusedError) return;
      if (typeof err.code === 'string' && err.code.startsWith('E')) return;
      if (/connect did not arrive in time/i.test(err.message)) refusals.count('connect-timeout');
      else if (/keep ?alive timeout/i.test(err.message)) refusals.count('keepalive-timeout');
      else if (/not stored on the gateway/.test(err.message)) return;
      else refusals.count('malformed');
      log.debug({ client: client?.id, err: err.message }, 'LAN client error');
    };
    broker.on('clientError', onError);
    broker.on('connectionError', onError);

    const ep = new LanBroker(broker, refusals, retained, limits);
    try {
      await new Promise<void>((resolve, reject) => {
        ep.#server.once('error', reject);
        ep.#server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          ep.#server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Port busy or host not local: release the broker so a failed start leaves nothing running.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      throw err;
    }
    const addr = ep.#server.address();
    ep.#port = addr !== null && typeof addr === 'object' ? addr.port : port;
    return ep;
  }

  get port(): number {
    return this.#port;
  }

  get connectedClients(): number {
    return this.#broker.connectedClients;
  }

  /** Counters for stats and /metrics: refusals by reason (`refused.<reason>`) and retained usage. */
  stats(): Record<string, number> {
    return { ...this.#refusals.asStats(), retainedMessages: this.#retained.count, retainedBytes: this.#retained.bytes };
  }

  refused(reason: LanRefusal): number {
    return this.#refusals.get(reason);
  }

  /** Sends a command to one device on `poste/v1/dev/{dev}/cmd` (QoS 1, not retained: stale commands must not replay). */
  sendCommand(deviceId: string, cmd: DeviceCommand): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#broker.publish(
        { cmd: 'publish', topic: topic('localCommand', { device: deviceId }), payload: encode(cmd), qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Sends an OTA message (begin, chunk, abort) to one device on `poste/v1/dev/{dev}/ota` (QoS 1, not retained). */
  sendOta(deviceId: string, msg: LocalOta): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#broker.publish(
        { cmd: 'publish', topic: topic('localOta', { device: deviceId }), payload: encode(msg), qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#broker.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const DEFAULT_LIMITS: LanLimits = {
  maxPayloadBytes: 64 * 1024,
  publishPerSecond: 50,
  publishBurst: 200,
  maxWaitMs: 30_000,
  maxConnections: 10_000,
  maxRetainedBytes: 16 * 1024 * 1024,
  connectTimeoutMs: 5_000,
};

/** Hands a device's publish on one of the inbound topics to its handler; other topics pass untouched. */
function route(packet: PublishPacket, handlers: LocalHandlers): SinkResult {
  const parsed = parseTopic(packet.topic);
  if (parsed === null) return 'accepted';
  switch (parsed.kind) {
    case 'localDeviceState':
    case 'localTelemetry':
    case 'localEvent':
    case 'localAck':
    case 'localOtaStatus': {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
      return handlers[parsed.kind](parsed.params.device, payload);
    }
    default:
      return 'accepted';
  }
}
