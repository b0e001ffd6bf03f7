import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { MqttClient } from 'mqtt';
import { encode, topic, type Ack } from '@poste/protocol';
import { startAgent } from '../../core/agent';
import { ManualTimers, connectDevice, deviceState, silentLogger, startNorthPeer, waitFor } from '../../core/test-support';

const GW = 'gw-two-lans';

async function listenAnywhere(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, port: addr !== null && typeof addr === 'object' ? addr.port : 0 };
}

test('poste adapter: two instances on two ports in one agent; each device is commanded through the LAN it announced itself on', async () => {
  const north = await startNorthPeer();
  const timers = new ManualTimers();
  const agent = await startAgent({
    gatewayId: GW,
    north: { url: north.url },
    configVersion: 2,
    adapters: [
      { kind: 'poste', port: 0 },
      { kind: 'poste', name: 'street-b', port: 0 },
    ],
    commandTimeoutMs: 5_000,
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
  });
  const clients: MqttClient[] = [];
  try {
    await agent.whenNorthConnected();
    const ports = agent.adapterPorts();
    assert.deepEqual(Object.keys(ports), ['poste', 'street-b']);
    assert.notEqual(ports.poste, ports['street-b']);
    assert.equal(agent.localPort, ports.poste, 'localPort stays the first poste adapter');

    const a = await connectDevice(ports.poste!, 'lum-a', deviceState('luminaire', 'online', { group: 'g' }));
    const b = await connectDevice(ports['street-b']!, 'lum-b', deviceState('luminaire', 'online', { group: 'g' }));
    clients.push(a.client, b.client);
    await waitFor('both registered', () => agent.devices().length === 2);
    const owner = (id: string) => agent.devices().find((d) => d.id === id)?.adapter;
    assert.equal(owner('lum-a'), 'poste');
    assert.equal(owner('lum-b'), 'street-b');

    const toB = await agent.commandDevice('lum-b', { action: 'dim', level: 20 });
    assert.equal(toB.outcome, 'done');
    assert.equal(b.commands.length, 1);
    assert.equal(a.commands.length, 0, 'the other LAN never saw it');
    const toA = await agent.commandDevice('lum-a', { action: 'identify', durationS: 5 });
    assert.equal(toA.outcome, 'done');
    assert.equal(a.commands.length, 1);

    // A cloud group command fans out across both LANs.
    const now = timers.clock.now();
    await north.publish(topic('command', { gateway: GW }), {
      v: 1,
      id: 'grp',
      target: { group: 'g' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'dim',
      level: 70,
    });
    const ackTopic = topic('ack', { gateway: GW });
    await waitFor('group ack', () => north.on(ackTopic).some((x) => (x as Ack).id === 'grp'));
    const groupAck = north.on(ackTopic).find((x) => (x as Ack).id === 'grp') as Ack;
    assert.equal(groupAck.outcome, 'done');
    assert.equal(a.commands.length, 2);
    assert.equal(b.commands.length, 2);

    // Street B may not speak for a device that is online on the other LAN: births and acks refused.
    const spoof = await connectDevice(ports['street-b']!, 'spoofer', deviceState('ap', 'online'));
    clients.push(spoof.client);
    await waitFor('spoofer registered', () => agent.devices().length === 3);
    await spoof.client.publishAsync(
      topic('localDeviceState', { device: 'lum-a' }),
      encode(deviceState('luminaire', 'online', { group: 'evil' })),
      { qos: 1 },
    );
    await spoof.client.publishAsync(topic('localAck', { device: 'lum-a' }), encode({ v: 1, id: 'whatever', outcome: 'done', ts: now }), {
      qos: 1,
    });
    await waitFor('refusals counted', () => agent.stats().adapters['street-b']!.rejected === 2);
    assert.equal(owner('lum-a'), 'poste');
    assert.equal(agent.devices().find((d) => d.id === 'lum-a')?.group, 'g');
    const s = agent.stats();
    assert.equal(s.rejected.deviceState, 1);
    assert.equal(s.rejected.deviceAck, 1);
    assert.equal(s.adapters.poste!.rejected, 0);

    assert.equal(s.adapters.poste!.kind, 'poste');
    assert.equal(s.adapters.poste!.devices, 1);
    assert.equal(s.adapters['street-b']!.devices, 2);
    assert.deepEqual(s.adapters.poste!.commands, { sent: 2, sendFailed: 0 });
    assert.deepEqual(s.adapters['street-b']!.commands, { sent: 2, sendFailed: 0 });
    assert.equal(s.adapters['street-b']!.transport.port, ports['street-b']);
    assert.equal(s.adapters['street-b']!.transport.connectedClients, 2);
    assert.equal(s.adapters['street-b']!.handedIn.acks, 3, 'two real acks and the spoofed one');

    // Once lum-a is gone (its will), it may come back on the other LAN and is commanded there.
    a.client.end(true);
    await waitFor('lum-a offline', () => agent.devices().find((d) => d.id === 'lum-a')?.status === 'offline');
    const moved = await connectDevice(ports['street-b']!, 'lum-a', deviceState('luminaire', 'online', { group: 'g' }));
    clients.push(moved.client);
    await waitFor('lum-a moved', () => owner('lum-a') === 'street-b' && agent.devices().find((d) => d.id === 'lum-a')?.status === 'online');
    assert.equal((await agent.commandDevice('lum-a', { action: 'clearOverride' })).outcome, 'done');
    assert.equal(moved.commands.length, 1);
  } finally {
    for (const c of clients) c.end(true);
    await agent.stop();
    await north.close();
  }
});

test('poste adapter: when a later adapter cannot listen, startAgent fails and releases the ports already opened', async () => {
  const busy = await listenAnywhere();
  const first = await listenAnywhere();
  const firstPort = first.port;
  await new Promise<void>((r) => first.server.close(() => r()));
  try {
    await assert.rejects(
      startAgent({
        gatewayId: GW,
        north: { url: 'mqtt://127.0.0.1:1' },
        adapters: [
          { kind: 'poste', port: firstPort },
          { kind: 'poste', port: busy.port },
        ],
        logger: silentLogger,
      }),
      /EADDRINUSE/,
    );
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(firstPort, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => again.close(() => r()));
  } finally {
    await new Promise<void>((r) => busy.server.close(() => r()));
  }
});
