import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { encode, parseTopic, topic, topicFilter, type DeviceCommand } from '@poste/protocol';

/** The device → agent topic kinds the Poste adapter listens to on its LAN broker. */
export type LocalInboundKind = 'localDeviceState' | 'localTelemetry' | 'localEvent' | 'localAck';

export type LocalHandlers = Record<LocalInboundKind, (deviceId: string, payload: Buffer) => void>;

const INBOUND: readonly LocalInboundKind[] = ['localDeviceState', 'localTelemetry', 'localEvent', 'localAck'];

/**
 * The Poste adapter's LAN MQTT endpoint: an embedded Aedes broker that devices connect to. The
 * adapter subscribes in-process (no socket, no extra client) and publishes commands the same way.
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

  static async start(
    host: string,
    port: number,
    handlers: LocalHandlers,
    log: Logger,
  ): Promise<LanBroker> {
    const broker = await Aedes.createBroker({
      // Only the agent (client null = in-process) may publish device commands: a device must not
      // be able to command its neighbours.
      authorizePublish: (client, packet, done) => {
        const parsed = parseTopic(packet.topic);
        if (client !== null && parsed?.kind === 'localCommand') {
          done(new Error('devices may not publish commands'));
          return;
        }
        done(null);
      },
    });
    broker.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'local client error'));
    const ep = new LanBroker(broker);
    for (const kind of INBOUND) {
      await new Promise<void>((resolve) => {
        broker.subscribe(topicFilter(kind), (packet: AedesPublishPacket, cb: () => void) => {
          try {
            ep.#route(packet, handlers);
          } finally {
            cb();
          }
        }, resolve);
      });
    }
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

  #route(packet: AedesPublishPacket, handlers: LocalHandlers): void {
    const parsed = parseTopic(packet.topic);
    if (parsed === null) return;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
    switch (parsed.kind) {
      case 'localDeviceState':
      case 'localTelemetry':
      case 'localEvent':
      case 'localAck':
        handlers[parsed.kind](parsed.params.device, payload);
        return;
      default:
        return;
    }
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

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#broker.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
