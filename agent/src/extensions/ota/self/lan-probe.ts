// The health check's look at the LAN endpoint: a real MQTT 3.1.1 CONNECT to it, answered by any
// CONNACK (accepted, or refused for lack of credentials: either way the endpoint serves MQTT).
// A listening socket that never answers, or nothing listening, is not healthy.
import { connect } from 'node:net';

/** CONNECT, MQTT 3.1.1, clean session, keepalive 0, client id `poste-health-probe`. */
function connectPacket(): Buffer {
  const id = Buffer.from('poste-health-probe');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00]);
  const payload = Buffer.concat([Buffer.from([id.byteLength >> 8, id.byteLength & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10, variable.byteLength + payload.byteLength]), variable, payload]);
}

/** A wildcard listen address is probed on loopback. */
export function probeHost(listenHost: string): string {
  if (listenHost === '0.0.0.0' || listenHost === '') return '127.0.0.1';
  if (listenHost === '::') return '::1';
  return listenHost;
}

/** null when host:port answers a CONNECT with a CONNACK within timeoutMs, else why not. */
export function probeMqttEndpoint(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (why: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no CONNACK from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => socket.write(connectPacket()));
    socket.once('data', (d: Buffer) => {
      done(d[0] === 0x20 ? null : `${host}:${port} answered 0x${(d[0] ?? 0).toString(16)}, not a CONNACK`);
    });
    socket.once('error', (err) => done(`${host}:${port}: ${err.message}`));
    socket.once('close', () => done(`${host}:${port} closed the connection without a CONNACK`));
  });
}
