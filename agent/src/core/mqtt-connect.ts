// MQTT.js clients without MQTT.js's `connect()` for plain TCP and TLS. Its first call loads every
// transport MQTT.js knows — WebSocket (ws, with zlib), SOCKS proxies (socks, ip-address, dns) and
// TLS — whatever the URL: 2.5 MB of RSS on a bare node (1 MB of it heap), for a gateway that dials
// `mqtt://` or `mqtts://`. Here a TCP URL opens a net socket and a TLS URL a tls socket (node:tls
// loaded only then), with MQTT.js's own rules for both (ports 1883/8883, SNI, rejectUnauthorized
// by default); ws:// and wss:// still go through MQTT.js's connect, loaded on demand
// (prepareMqttTransports) only when a configured URL needs it.
import { createRequire } from 'node:module';
import { createConnection, isIP } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { IClientOptions, MqttClient } from 'mqtt';
import mqttClientModule from 'mqtt/lib/client';

// CommonJS with `exports.default`: under Node's ESM interop (tsx, the bundle) the default import is
// the whole exports object, under TypeScript's the class itself.
const MqttClientClass = (mqttClientModule as unknown as { default?: typeof mqttClientModule }).default ?? mqttClientModule;

type MqttConnect = (url: string, opts: IClientOptions) => MqttClient;

let webSocketConnect: MqttConnect | undefined;

const isWebSocket = (url: string): boolean => /^wss?:\/\//i.test(url);

/** Loads MQTT.js's full connect when one of `urls` is ws:// or wss:// (before connectMqtt is called for it). */
export async function prepareMqttTransports(urls: readonly string[]): Promise<void> {
  if (webSocketConnect === undefined && urls.some(isWebSocket)) webSocketConnect = (await import('mqtt')).connect;
}

/** node:tls, loaded the first time a TLS URL is dialled. */
function tlsModule(): typeof import('node:tls') {
  return createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
}

/** Like MQTT.js's `connect(url, opts)` for mqtt://, tcp://, mqtts://, tls:// (and ws(s):// once prepared). */
export function connectMqtt(url: string, opts: IClientOptions): MqttClient {
  if (isWebSocket(url)) {
    if (webSocketConnect === undefined) throw new Error(`${url}: WebSocket transport not loaded (prepareMqttTransports first)`);
    return webSocketConnect(url, opts);
  }
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, '');
  const secure = protocol === 'mqtts' || protocol === 'tls' || protocol === 'ssl';
  if (!secure && protocol !== 'mqtt' && protocol !== 'tcp') throw new Error(`${url}: unsupported MQTT protocol ${protocol}`);
  // An IPv6 literal comes bracketed in a URL; sockets want it bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = u.port !== '' ? Number(u.port) : secure ? 8883 : 1883;
  const full: IClientOptions = {
    ...(u.username !== '' && { username: decodeURIComponent(u.username) }),
    ...(u.password !== '' && { password: decodeURIComponent(u.password) }),
    ...opts,
    protocol: secure ? 'mqtts' : 'mqtt',
    host,
    hostname: host,
    port,
  };
  if (full.clean === false && !full.clientId) throw new Error('Missing clientId for unclean clients');
  const build = (client: MqttClient) => (secure ? tlsStream(client, full, host, port) : createConnection({ host, port }));
  const client = new MqttClientClass(build as never, full);
  // as MQTT.js's connect does: errors reach the caller's 'error' listener; none must be unhandled
  client.on('error', () => undefined);
  return client;
}

/** MQTT.js's TLS stream builder, minus SOCKS: SNI for host names, unauthorized peers refused unless told otherwise. */
function tlsStream(client: MqttClient, opts: IClientOptions, host: string, port: number): TLSSocket {
  const rejectUnauthorized = opts.rejectUnauthorized !== false;
  const options: ConnectionOptions = {
    host,
    port,
    rejectUnauthorized,
    ...(isIP(host) === 0 && { servername: opts.servername ?? host }),
    ...(opts.ca !== undefined && { ca: opts.ca }),
    ...(opts.cert !== undefined && { cert: opts.cert }),
    ...(opts.key !== undefined && { key: opts.key }),
  };
  const socket = tlsModule().connect(options);
  const onError = (err: Error): void => {
    if (rejectUnauthorized) client.emit('error', err);
    socket.end();
  };
  socket.on('secureConnect', () => {
    if (rejectUnauthorized && !socket.authorized) socket.emit('error', new Error('TLS not authorized'));
    else socket.removeListener('error', onError);
  });
  socket.on('error', onError);
  return socket;
}
