// The two ways an MQTT-speaking adapter (tasmota, openwrt) meets its devices: an MQTT client on a broker already running on
// the gateway (`url`), or an embedded Aedes broker the controllers connect to (host/port), which
// the adapter reads and writes in-process. Either way the adapter sees (topic, payload) pairs and
// publishes text commands.
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface MqttTransport {
  /** Set for the embedded broker: where controllers connect. */
  readonly listenPort: number | undefined;
  /** QoS 0 by default (Tasmota subscribes at 0); 1 where the device keeps a session (openwrt plans). */
  publish(topic: string, payload: string, qos?: 0 | 1): Promise<void>;
  stats(): Record<string, number | string>;
  close(): Promise<void>;
}

/** Subscribes `subscriptions` on an existing broker; resolves once subscribed, rejects after `connectTimeoutMs` without a connection. */
export async function clientTransport(
  opts: { url: string; username?: string | undefined; password?: string | undefined; clientId: string; connectTimeoutMs: number },
  subscriptions: string[],
  onMessage: MessageHandler,
  log: Logger,
): Promise<MqttTransport> {
  const client: MqttClient = connect(opts.url, {
    clientId: opts.clientId,
    protocolVersion: 4,
    reconnectPeriod: 1_000,
    connectTimeout: opts.connectTimeoutMs,
    ...(opts.username !== undefined && { username: opts.username }),
    ...(opts.password !== undefined && { password: opts.password }),
  });
  let reconnects = 0;
  client.on('message', (topic, payload) => onMessage(topic, payload));
  client.on('reconnect', () => {
    reconnects++;
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'device broker connection error'));
  // Re-subscribe on every connect: a clean session forgets subscriptions.
  client.on('connect', () => {
    client.subscribe(subscriptions, { qos: 0 }, (err) => {
      if (err) log.warn({ err: err.message }, 'device broker subscribe failed');
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no connection to ${opts.url} within ${opts.connectTimeoutMs} ms`)),
        opts.connectTimeoutMs,
      );
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.subscribeAsync(subscriptions, { qos: 0 });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  return {
    listenPort: undefined,
    publish: async (topic, payload, qos = 0) => {
      if (!client.connected) throw new Error(`not connected to ${opts.url}`);
      await client.publishAsync(topic, payload, { qos, retain: false });
    },
    stats: () => ({ mode: 'url', connected: client.connected ? 1 : 0, reconnects }),
    close: () => client.endAsync(true),
  };
}

/** An embedded broker on host:port for the controllers; resolves once it listens. */
export async function embeddedTransport(
  host: string,
  port: number,
  subscriptions: string[],
  isCommandTopic: (topic: string) => boolean,
  onMessage: MessageHandler,
  log: Logger,
): Promise<MqttTransport> {
  const broker = await Aedes.createBroker({
    // Devices may not publish on command topics: one device must not command another.
    authorizePublish: (client, packet, done) => {
      if (client !== null && client !== undefined && isCommandTopic(packet.topic)) {
        done(new Error('devices may not publish commands'));
        return;
      }
      done(null);
    },
  });
  broker.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'device client error'));
  for (const s of subscriptions) {
    await new Promise<void>((resolve) =>
      broker.subscribe(
        s,
        (packet: AedesPublishPacket, cb: () => void) => {
          onMessage(packet.topic, Buffer.from(packet.payload));
          cb();
        },
        resolve,
      ),
    );
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }
  const addr = server.address();
  const listenPort = addr !== null && typeof addr === 'object' ? addr.port : port;
  return {
    listenPort,
    publish: (topic, payload, qos = 0) =>
      new Promise((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      ),
    stats: () => ({ mode: 'serve', host, port: listenPort, connectedClients: broker.connectedClients }),
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
