import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { connectMqtt, prepareMqttTransports } from './mqtt-connect';

/** Resolves with the CONNACK (connected) or the first error. */
function outcome(client: MqttClient): Promise<'connected' | Error> {
  return new Promise((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', (err) => resolve(err));
    client.once('close', () => resolve(new Error('closed before CONNACK')));
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return addr !== null && typeof addr === 'object' ? addr.port : 0;
}

describe('connectMqtt: MQTT.js clients over TCP and TLS without MQTT.js connect()', () => {
  let broker: Aedes;
  let tcp: Server;
  let tls: Server;
  let tcpPort: number;
  let tlsPort: number;
  let dir: string;
  let ca: Buffer;
  const logins: Array<{ username: string | undefined; password: string | undefined }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'poste-mqtt-connect-'));
    // A self-signed certificate for 127.0.0.1 and localhost (openssl is a CI package).
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    assert.equal(r.status, 0, `openssl: ${r.stderr?.toString()}`);
    ca = readFileSync(join(dir, 'cert.pem'));
    broker = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => {
        logins.push({ username, password: password?.toString('utf8') });
        done(null, true);
      },
    });
    tcp = createTcpServer((s) => broker.handle(s));
    tls = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (s) => broker.handle(s));
    tcpPort = await listen(tcp);
    tlsPort = await listen(tls);
  });

  after(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    tcp.close();
    tls.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mqtt:// and tcp:// connect, with the URL’s credentials when the options give none', async () => {
    for (const url of [`mqtt://127.0.0.1:${tcpPort}`, `tcp://dev%2D1:s%40cret@127.0.0.1:${tcpPort}`]) {
      const client = connectMqtt(url, { clientId: `c-${logins.length}`, reconnectPeriod: 0 });
      assert.equal(await outcome(client), 'connected', url);
      await client.endAsync(true);
    }
    assert.deepEqual(logins.at(-1), { username: 'dev-1', password: 's@cret' });
  });

  it('mqtts:// verifies the broker: refused without its CA, connected with it (SNI by host name)', async () => {
    const refused = connectMqtt(`mqtts://localhost:${tlsPort}`, { clientId: 'tls-1', reconnectPeriod: 0 });
    const err = await outcome(refused);
    assert.ok(err instanceof Error && /self[- ]signed|unable to verify/i.test(err.message), String(err));
    refused.end(true);
    const client = connectMqtt(`mqtts://localhost:${tlsPort}`, { clientId: 'tls-2', reconnectPeriod: 0, ca });
    assert.equal(await outcome(client), 'connected');
    await client.endAsync(true);
    const unchecked = connectMqtt(`tls://127.0.0.1:${tlsPort}`, { clientId: 'tls-3', reconnectPeriod: 0, rejectUnauthorized: false });
    assert.equal(await outcome(unchecked), 'connected');
    await unchecked.endAsync(true);
  });

  it('ws:// needs the WebSocket transport loaded first; other protocols are refused by name', async () => {
    assert.throws(() => connectMqtt('ws://127.0.0.1:1/mqtt', { reconnectPeriod: 0 }), /WebSocket transport not loaded/);
    assert.throws(() => connectMqtt('http://127.0.0.1:1', { reconnectPeriod: 0 }), /unsupported MQTT protocol http/);
    await prepareMqttTransports([`mqtt://127.0.0.1:${tcpPort}`, 'ws://127.0.0.1:1/mqtt']);
    const ws = connectMqtt('ws://127.0.0.1:1/mqtt', { reconnectPeriod: 0 });
    assert.ok(await outcome(ws), 'a WebSocket client was built (nothing listens there)');
    ws.end(true);
  });
});
