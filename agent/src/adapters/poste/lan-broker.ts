import type { Logger } from 'pino';
import { encode, parseTopic, topic, type DeviceCommand, type LocalOta } from '@poste/protocol';
import type { SinkResult } from '../types';
import type { LanLimits } from './config';
import type { DeviceCredentials } from './device-credentials';
import { clientIdAcceptable, emptyClientIdAllowed, LanRefusals, mayPublish, maySubscribe, type LanRefusal } from './lan-policy';
import {
  LanServer,
  type ConnectRequest,
  type ConnectVerdict,
  type InboundPublish,
  type LanServerPolicy,
  type PublishVerdict,
} from './lan-server';
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

/**
 * The Poste adapter's LAN MQTT endpoint (lan-server.ts) with the Poste policy: who may connect
 * (device credentials, client ids), what a device may publish and subscribe (lan-policy.ts), how
 * fast (PublishRate: slowed, then refused), how much it may retain (RetainedStore), and what
 * happens to what it publishes: handed to the agent (validated and appended to its spool,
 * synchronously) BEFORE the device's PUBACK; a message the agent could not store is not
 * acknowledged. Wills take the same path. Commands go out from the agent in-process.
 */
export class LanBroker {
  readonly #server: LanServer;
  readonly #refusals: LanRefusals;
  readonly #retained: RetainedStore;
  #port = 0;

  private constructor(server: LanServer, refusals: LanRefusals, retained: RetainedStore) {
    this.#server = server;
    this.#refusals = refusals;
    this.#retained = retained;
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
    const server = new LanServer(
      posteLanPolicy(handlers, access, limits, retained),
      retained,
      refusals,
      {
        preAuthBytes: PRE_AUTH_PACKET_BYTES,
        maxPacketBytes: limits.maxPayloadBytes + HEADER_ALLOWANCE_BYTES,
        connectTimeoutMs: limits.connectTimeoutMs,
        maxConnections: limits.maxConnections,
      },
      log,
    );
    const ep = new LanBroker(server, refusals, retained);
    try {
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Port busy or host not local: release the endpoint so a failed start leaves nothing running.
      await server.close().catch(() => undefined);
      throw err;
    }
    const addr = server.server.address();
    ep.#port = addr !== null && typeof addr === 'object' ? addr.port : port;
    return ep;
  }

  get port(): number {
    return this.#port;
  }

  get connectedClients(): number {
    return this.#server.connectedClients;
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
    this.#server.publish(topic('localCommand', { device: deviceId }), encode(cmd), 1);
    return Promise.resolve();
  }

  /** Sends an OTA message (begin, chunk, abort) to one device on `poste/v1/dev/{dev}/ota` (QoS 1, not retained). */
  sendOta(deviceId: string, msg: LocalOta): Promise<void> {
    this.#server.publish(topic('localOta', { device: deviceId }), encode(msg), 1);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.#server.close();
  }
}

/** Poste's decisions for the LAN endpoint: logins, the device ACL, rate and retained bounds, and the hand-over to the agent. */
function posteLanPolicy(handlers: LocalHandlers, access: LanAccess, limits: LanLimits, retained: RetainedStore): LanServerPolicy {
  const rate = new PublishRate(limits.publishPerSecond, limits.publishBurst, limits.maxWaitMs);
  const refuse = (reason: LanRefusal, message: string) => ({ reason, message });
  return {
    connect({ clientId, clean, username, password }: ConnectRequest): ConnectVerdict {
      const fail = (reason: LanRefusal, message: string, code: 2 | 4 | 5): ConnectVerdict => ({ ok: false, reason, message, code });
      if (clientId === '') {
        if (!emptyClientIdAllowed(clean, access.mode)) {
          return fail('client-id', `empty client id refused (clean session ${clean}, ${access.mode} mode)`, 2);
        }
      } else if (!clientIdAcceptable(clientId)) {
        return fail('client-id', `client id ${JSON.stringify(clientId.slice(0, 80))} is not a device id`, 2);
      }
      if (access.mode === 'open') return { ok: true, identity: null };
      if (username === undefined || password === undefined || !access.credentials.verify(username, password)) {
        return fail('bad-credentials', `bad device id or secret for ${JSON.stringify(String(username).slice(0, 80))}`, 4);
      }
      // The identity is the login: a device cannot take another's client id (and its session).
      if (username !== clientId) return fail('client-id', `client id ${clientId} is not the logged-in device ${username}`, 2);
      return { ok: true, identity: username };
    },
    authorizePublish(identity: string | null, msg: InboundPublish, client: object, will: boolean): PublishVerdict {
      if (msg.payload.length > limits.maxPayloadBytes) {
        return refuse('packet-too-large', `${msg.topic}: payload ${msg.payload.length} bytes > ${limits.maxPayloadBytes}`);
      }
      const decision = mayPublish(identity, msg.topic, msg.retain);
      if (!decision.ok) return refuse(decision.reason, decision.detail);
      if (msg.retain && !retained.fits(msg.topic, msg.payload.length)) {
        return refuse('retained-quota', `${msg.topic}: retained messages would exceed ${limits.maxRetainedBytes} bytes`);
      }
      // A will is the connection's last word: never delayed (its client is gone), not charged to a rate.
      if (will) return 0;
      const wait = rate.admit(client);
      if (wait === null)
        return refuse('rate', `over ${limits.publishPerSecond}/s (burst ${limits.publishBurst}) for more than ${limits.maxWaitMs} ms`);
      return wait;
    },
    // 'accepted' and 'rejected' are acknowledged (resending invalid data cannot fix it); 'retry' is not.
    handle: (msg) => route(msg, handlers),
    authorizeSubscribe(identity: string | null, filter: string) {
      const decision = maySubscribe(identity, filter);
      return decision.ok ? null : refuse(decision.reason, decision.detail);
    },
  };
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
function route(packet: InboundPublish, handlers: LocalHandlers): SinkResult {
  const parsed = parseTopic(packet.topic);
  if (parsed === null) return 'accepted';
  switch (parsed.kind) {
    case 'localDeviceState':
    case 'localTelemetry':
    case 'localEvent':
    case 'localAck':
    case 'localOtaStatus': {
      return handlers[parsed.kind](parsed.params.device, packet.payload);
    }
    default:
      return 'accepted';
  }
}
