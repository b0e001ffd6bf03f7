// The health check's LAN probe against a real MQTT broker (Aedes, as the LAN endpoint is), one that
// refuses the login (still serving), a socket that never answers, and a port nobody listens on.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { probeHost, probeMqttEndpoint } from './lan-probe';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('LAN probe', () => {
  const servers: Server[] = [];
  const brokers: Aedes[] = [];
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    for (const b of brokers) await new Promise<void>((r) => b.close(() => r()));
  });

  it('an MQTT broker answers with a CONNACK, accepted or refused', async () => {
    for (const refuse of [false, true]) {
      const broker = await Aedes.createBroker(
        refuse ? { authenticate: (_c, _u, _p, done) => done(Object.assign(new Error('no'), { returnCode: 4 }) as never, false) } : {},
      );
      brokers.push(broker);
      const server = createServer((s) => broker.handle(s));
      servers.push(server);
      assert.equal(await probeMqttEndpoint('127.0.0.1', await listen(server), 5_000), null, refuse ? 'refused login' : 'accepted');
    }
  });

  it('a socket that never answers, and nothing listening, are not healthy', async () => {
    // Reads and drops what comes (so the probe's close is seen), never answers.
    const silent = createServer((s) => s.resume());
    servers.push(silent);
    const port = await listen(silent);
    assert.equal(await probeMqttEndpoint('127.0.0.1', port, 300), `no CONNACK from 127.0.0.1:${port} within 300 ms`);
    const closed = createServer();
    const free = await listen(closed);
    await new Promise((r) => closed.close(r));
    assert.match((await probeMqttEndpoint('127.0.0.1', free, 2_000)) ?? '', /ECONNREFUSED/);
  });

  it('a wildcard listen address is probed on loopback', () => {
    assert.deepEqual(['0.0.0.0', '::', '10.0.0.1'].map(probeHost), ['127.0.0.1', '::1', '10.0.0.1']);
  });
});
