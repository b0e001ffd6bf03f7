import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, type Ack, type DeviceCommand } from '@poste/protocol';
import { CommandRelay } from './command-relay';
import { DeviceRegistry } from './device-registry';
import { Rejections } from './rejections';
import { ManualTimers, deviceState, silentLogger } from './test-support';

function harness() {
  const timers = new ManualTimers();
  const registry = new DeviceRegistry();
  const acks: Ack[] = [];
  const sent: Array<{ device: string; cmd: DeviceCommand }> = [];
  const relay = new CommandRelay({
    clock: timers.clock,
    timers,
    registry,
    rejections: new Rejections(silentLogger),
    log: silentLogger,
    timeoutMs: () => 1_000,
    sendToDevice: async (device, cmd) => {
      sent.push({ device, cmd });
    },
    publishAck: (a) => acks.push(a),
    gatewayAction: async () => ({ outcome: 'done' }),
  });
  return { timers, registry, acks, sent, relay };
}

test('relay: a group with mixed device outcomes is failed, with per-device results', async () => {
  const { timers, registry, acks, sent, relay } = harness();
  registry.apply('a', deviceState('luminaire', 'online', { group: 'g' }), 'poste');
  registry.apply('b', deviceState('luminaire', 'online', { group: 'g' }), 'poste');
  registry.apply('c', deviceState('luminaire', 'offline', { group: 'g' }), 'poste');
  const now = timers.clock.now();
  const handled = relay.handleCommand(
    encode({ v: 1, id: 'g1', target: { group: 'g' }, issuedAt: now, expiresAt: now + 10_000, action: 'dim', level: 5 }),
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.map((s) => s.device).sort(), ['a', 'b'], 'offline luminaire not sent to');
  relay.handleDeviceAck('a', encode({ v: 1, id: 'g1', outcome: 'done', ts: now }));
  timers.advance(1_000); // b never answers
  await handled;
  const ack = acks[0]!;
  assert.equal(ack.outcome, 'failed');
  assert.deepEqual(ack.results?.map((r) => `${r.device}:${r.outcome}`).sort(), ['a:done', 'b:timeout', 'c:failed']);
});

test('relay: acks for nothing pending and malformed acks are counted, not fatal', () => {
  const { relay } = harness();
  relay.handleDeviceAck('a', encode({ v: 1, id: 'x', outcome: 'done', ts: 1 }));
  relay.handleDeviceAck('a', Buffer.from('nope'));
  assert.equal(relay.stats().unexpectedDeviceAcks, 1);
});
