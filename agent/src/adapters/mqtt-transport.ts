// The two ways an MQTT-speaking adapter (tasmota, openwrt) meets its devices: an MQTT client on a broker already running on
// the gateway (`url`), or an embedded MQTT endpoint the controllers connect to (host/port), which
// the adapter reads and writes in-process. Either way the adapter sees (topic, payload) pairs and
// publishes text commands.
import type { MqttClient } from 'mqtt';
import { connectMqtt } from '../core/mqtt-connect';
import type { Logger } from 'pino';
import { LanRefusals } from './poste/lan-policy';
import { LanServer, type LanServerPolicy } from './poste/lan-server';
import { RetainedStore, topicMatches } from './poste/retained-store';

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
  const client: MqttClient = connectMqtt(opts.url, {
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

/** What the embedded endpoint bounds for controllers (the defaults of the Poste LAN endpoint). */
const EMBEDDED_LIMITS = {
  /** a CONNECT: client id, credentials, an LWT */
  preAuthBytes: 8 * 1024,
  /** Tasmota's and the AP publisher's messages are a few KB; the Poste endpoint's payload cap plus headers */
  maxPacketBytes: 64 * 1024 + 1024,
  connectTimeoutMs: 5_000,
  maxConnections: 10_000,
  /** retained messages (LWTs) of all controllers together */
  maxRetainedBytes: 4 * 1024 * 1024,
};

/**
 * An embedded MQTT endpoint on host:port for the controllers (the lean server the Poste adapter
 * uses, lan-server.ts); resolves once it listens. Anyone on the LAN may connect (Tasmota and the
 * AP publisher log in with whatever their firmware was given); no device may publish on a command
 * topic. What they publish on `subscriptions` reaches `onMessage` in-process.
 */
export async function embeddedTransport(
  host: string,
  port: number,
  subscriptions: string[],
  isCommandTopic: (topic: string) => boolean,
  onMessage: MessageHandler,
  log: Logger,
): Promise<MqttTransport> {
  const refusals = new LanRefusals();
  const retained = new RetainedStore(EMBEDDED_LIMITS.maxRetainedBytes);
  const policy: LanServerPolicy = {
    connect: () => ({ ok: true, identity: null }),
    authorizePublish: (_identity, msg) => {
      // One device must not command another.
      if (isCommandTopic(msg.topic)) return { reason: 'publish-command', message: `${msg.topic}: devices may not publish commands` };
      if (msg.retain && !retained.fits(msg.topic, msg.payload.length)) {
        return {
          reason: 'retained-quota',
          message: `${msg.topic}: retained messages would exceed ${EMBEDDED_LIMITS.maxRetainedBytes} bytes`,
        };
      }
      return 0;
    },
    handle: (msg) => {
      if (subscriptions.some((f) => topicMatches(f, msg.topic))) onMessage(msg.topic, Buffer.from(msg.payload));
      return 'accepted';
    },
    authorizeSubscribe: () => null,
  };
  const server = new LanServer(policy, retained, refusals, EMBEDDED_LIMITS, log);
  try {
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(port, host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await server.close().catch(() => undefined);
    throw err;
  }
  const addr = server.server.address();
  const listenPort = addr !== null && typeof addr === 'object' ? addr.port : port;
  return {
    listenPort,
    publish: async (topic, payload, qos = 0) => {
      server.publish(topic, Buffer.from(payload), qos);
    },
    stats: () => ({ mode: 'serve', host, port: listenPort, connectedClients: server.connectedClients, ...refusals.asStats() }),
    close: () => server.close(),
  };
}
