import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import mqttPacket from 'mqtt-packet';
import { topic } from '@poste/protocol';
import { startAgent } from './agent';
import { connectDevice, deviceState, silentLogger, startNorthPeer, waitFor } from './test-support';

// mqtt-packet's table of packet-id Buffers lives in its numbers module; the writers fill it on
// their first packet unless the cache is switched off (mqtt-packet-settings.ts).
const packetIdTable = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };

test('mqtt-packet settings: the agent writes QoS 1 packet ids on the LAN and northbound without building the 65,536-Buffer table', async () => {
  assert.equal(mqttPacket.writeToStream.cacheNumbers, false, 'switched off as the agent module loads');
  const north = await startNorthPeer();
  const agent = await startAgent({
    gatewayId: 'gw-packet-ids',
    north: { url: north.url },
    local: { port: 0 },
    logger: silentLogger,
  });
  const { client, commands } = await connectDevice(agent.localPort, 'lum-1', deviceState('luminaire', 'online'));
  try {
    await agent.whenNorthConnected();
    // The device's birth went in as a QoS 1 PUBLISH (the LAN endpoint answered with a PUBACK
    // carrying its packet id); the gateway's birth goes north as a QoS 1 PUBLISH with its own id.
    await waitFor('the gateway birth at the cloud', () => north.on(topic('gatewayState', { gateway: 'gw-packet-ids' })).length > 0);
    // Cloud → agent → device: a command goes out on the LAN as a QoS 1 PUBLISH with a packet id.
    const now = Date.now();
    await north.publish(topic('command', { gateway: 'gw-packet-ids' }), {
      v: 1,
      id: 'c-1',
      target: { device: 'lum-1' },
      issuedAt: now,
      expiresAt: now + 60_000,
      action: 'dim',
      level: 70,
    });
    await waitFor('the command at the device', () => commands.length > 0);
    assert.equal(Object.keys(packetIdTable.cache).length, 0, 'no packet-id Buffers were pre-generated');
  } finally {
    client.end(true);
    await agent.stop();
    await north.close();
  }
});
