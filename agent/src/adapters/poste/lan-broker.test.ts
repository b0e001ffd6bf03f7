// The root cause of issue 14's crash, isolated: Aedes' emitter (mqemitter) with its default
// concurrency queues messages while 100 are in flight and, when one completes synchronously (no
// subscriber), starts the next from inside that completion — a long queue recursed until
// "Maximum call stack size exceeded". Here one device stops reading (its deliveries stay in flight)
// while the agent sends 200 commands to it and 50,000 to devices that are not connected, in one burst.
// With Aedes' default concurrency (100) this test failed with that RangeError. The endpoint is now
// lan-server.ts (no emitter queue: a stuck device's commands wait in its bounded session queue); the
// test stays as the guard against any recursion of that kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { silentLogger } from '../../core/test-support';
import type { SinkResult } from '../types';
import { LanBroker } from './lan-broker';

test('LAN broker: a burst of 50,000 commands behind a device that stopped reading completes without recursing', async () => {
  const accept = (): SinkResult => 'accepted';
  const broker = await LanBroker.start(
    '127.0.0.1',
    0,
    {
      localDeviceState: accept,
      localTelemetry: accept,
      localEvent: accept,
      localAck: accept,
      localOtaStatus: accept,
    },
    silentLogger,
  );
  const stuck = tcpConnect(broker.port, '127.0.0.1');
  try {
    await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
    stuck.write(
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'lum-stuck', keepalive: 0 }),
    );
    stuck.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'poste/v1/dev/lum-stuck/cmd', qos: 1 }] }));
    await new Promise<void>((resolve) => stuck.once('data', () => resolve())); // CONNACK (and perhaps the SUBACK)
    await new Promise((r) => setTimeout(r, 100));
    stuck.pause(); // from now on the device reads nothing: deliveries to it back up
    const big = { action: 'identify' as const, durationS: 5 };
    const sends: Array<Promise<void>> = [];
    // Padded, so the stuck device's socket buffers fill and its deliveries stay in flight.
    for (let i = 0; i < 200; i++)
      sends.push(broker.sendCommand('lum-stuck', { v: 1, id: `s-${i}`, expiresAt: 2, ...big, pad: 'x'.repeat(4_000) } as never));
    for (let i = 0; i < 50_000; i++) sends.push(broker.sendCommand(`lum-${i}`, { v: 1, id: `c-${i}`, expiresAt: 2, ...big }));
    const settled = await Promise.allSettled(sends.slice(200));
    assert.equal(settled.filter((s) => s.status === 'rejected').length, 0, 'every command to an absent device was handed over');
  } finally {
    stuck.destroy();
    await broker.close();
  }
});
