import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { encode, parseTopic, topic, type DeviceCommand, type LocalOta } from '@poste/protocol';
import type { SinkResult } from '../types';

/** The device → agent topic kinds the Poste adapter listens to on its LAN broker. */
export type LocalInboundKind = 'localDeviceState' | 'localTelemetry' | 'localEvent' | 'localAck' | 'localOtaStatus';

export type LocalHandlers = Record<LocalInboundKind, (deviceId: string, payload: Buffer) => SinkResult>;

/**
 * The Poste adapter's LAN MQTT endpoint: an embedded Aedes broker that devices connect to. What
 * devices publish is handed to the agent inside Aedes' `authorizePublish` hook, before the PUBACK:
 * Aedes 1.x writes the QoS 1 PUBACK *before* it delivers to subscribers (in-process ones
 * included), so a subscription could only see a message the device already believes delivered.
 * In the hook, the agent validates the message and appends it to its spool synchronously; only
 * then is the device acknowledged. Wills pass through the same hook. Commands go out in-process.
 */
export class LanBroker {
  readonly #broker: Aedes;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  private constructor(broker: Aedes) {
    this.#broker = broker;
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      broker.handle(socket);
    });
  }

  static async start(host: string, port: number, handlers: LocalHandlers, log: Logger): Promise<LanBroker> {
    const broker = await Aedes.createBroker({
      // Only the agent (client null = in-process) may publish device commands: a device must not
      // be able to command its neighbours.
      authorizePublish: (client, packet, done) => {
        // In-process publishes (the agent's own commands) need no check.
        if (client === null || client === undefined) {
          done(null);
          return;
        }
        const parsed = parseTopic(packet.topic);
        if (parsed?.kind === 'localCommand') {
          done(new Error('devices may not publish commands'));
          return;
        }
        // 'accepted' and 'rejected' are acknowledged (resending invalid data cannot fix it);
        // 'retry' is not: Aedes drops the connection without a PUBACK and the device resends.
        if (route(packet, handlers) === 'retry') {
          done(new Error('not stored on the gateway (spool full or disk error); resend later'));
          return;
        }
        done(null);
      },
    });
    broker.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'local client error'));
    const ep = new LanBroker(broker);
    try {
      await new Promise<void>((resolve, reject) => {
        ep.#server.once('error', reject);
        ep.#server.listen(port, host, () => {
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
