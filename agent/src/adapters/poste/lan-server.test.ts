// The LAN endpoint's session rules beyond what the Paho suite covers: the bound of a persistent
// session's queue, takeover ending the first connection with its will, a resent QoS 2 PUBLISH
// delivered once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect, connectAsync } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { silentLogger, waitFor } from '../../core/test-support';
import type { SinkResult } from '../types';
import { LanBroker } from './lan-broker';
import { MAX_QUEUED } from './lan-session';

let broker: LanBroker;
const handed: Array<{ kind: string; device: string; payload: string }> = [];
const hand =
  (kind: string) =>
  (device: string, payload: Buffer): SinkResult => {
    handed.push({ kind, device, payload: payload.toString('utf8') });
    return 'accepted';
  };

before(async () => {
  broker = await LanBroker.start(
    '127.0.0.1',
    0,
    {
      localDeviceState: hand('state'),
      localTelemetry: hand('telemetry'),
      localEvent: hand('event'),
      localAck: hand('ack'),
      localOtaStatus: hand('ota'),
    },
    silentLogger,
  );
});

after(async () => {
  await broker.close();
});

const url = (): string => `mqtt://127.0.0.1:${broker.port}`;

test(`a persistent session away holds at most ${MAX_QUEUED} QoS 1 commands, the oldest dropped`, async () => {
  const away = await connectAsync(url(), { clientId: 'lum-away', clean: false, reconnectPeriod: 0 });
  await away.subscribeAsync('poste/v1/dev/lum-away/cmd', { qos: 1 });
  await away.endAsync();
  const extra = 5;
  for (let i = 0; i < MAX_QUEUED + extra; i++) {
    await broker.sendCommand('lum-away', { v: 1, id: `c-${i}`, expiresAt: 2, action: 'identify', durationS: 1 });
  }
  const ids: string[] = [];
  // The listener before the CONNACK: the queue follows it at once.
  const back = connect(url(), { clientId: 'lum-away', clean: false, reconnectPeriod: 0 });
  back.on('message', (_t, payload) => ids.push((JSON.parse(payload.toString('utf8')) as { id: string }).id));
  try {
    await waitFor('the queued commands', () => ids.length >= MAX_QUEUED);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ids.length, MAX_QUEUED);
    assert.equal(ids[0], `c-${extra}`);
    assert.equal(ids.at(-1), `c-${MAX_QUEUED + extra - 1}`);
  } finally {
    await back.endAsync(true);
  }
});

test('a second connection with the same client id takes over; the first ends and its will is published', async () => {
  const willPayload = JSON.stringify({ v: 1, kind: 'luminaire', status: 'offline', seq: 1, ts: 1 });
  const first = await connectAsync(url(), {
    clientId: 'lum-twice',
    reconnectPeriod: 0,
    will: { topic: 'poste/v1/dev/lum-twice/state', payload: Buffer.from(willPayload), qos: 1, retain: false },
  });
  let firstClosed = false;
  first.on('close', () => {
    firstClosed = true;
  });
  const before = handed.filter((h) => h.device === 'lum-twice' && h.kind === 'state').length;
  const second = await connectAsync(url(), { clientId: 'lum-twice', reconnectPeriod: 0 });
  try {
    await waitFor('the first connection closed', () => firstClosed);
    const wills = handed.filter((h) => h.device === 'lum-twice' && h.kind === 'state').slice(before);
    assert.deepEqual(
      wills.map((w) => w.payload),
      [willPayload],
    );
    assert.equal(second.connected, true);
    assert.equal(broker.connectedClients >= 1, true);
  } finally {
    first.end(true);
    await second.endAsync(true);
  }
});

/** Raw client: writes packets, collects what comes back (parsed). */
function rawClient(port: number): Promise<{ socket: Socket; received: Packet[]; send: (p: Packet) => void }> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    const received: Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => received.push(p));
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => undefined);
    socket.on('connect', () => resolve({ socket, received, send: (p) => socket.write(mqttPacket.generate(p)) }));
  });
}

test('a QoS 2 PUBLISH resent before its PUBREL reaches the agent once; PUBREC each time, PUBCOMP after PUBREL', async () => {
  const c = await rawClient(broker.port);
  try {
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'lum-q2', keepalive: 0 });
    const publish = {
      cmd: 'publish' as const,
      topic: 'poste/v1/dev/lum-q2/event',
      payload: Buffer.from('{"once":true}'),
      qos: 2 as const,
      messageId: 7,
      retain: false,
      dup: false,
    };
    c.send(publish);
    c.send({ ...publish, dup: true });
    await waitFor('two PUBRECs', () => c.received.filter((p) => p.cmd === 'pubrec').length === 2);
    assert.equal(handed.filter((h) => h.device === 'lum-q2').length, 1);
    c.send({ cmd: 'pubrel', messageId: 7 });
    await waitFor('the PUBCOMP', () => c.received.some((p) => p.cmd === 'pubcomp' && p.messageId === 7));
    // the id is free again: the same id now carries a new message
    c.send({ ...publish, payload: Buffer.from('{"again":true}') });
    await waitFor('the second message', () => handed.filter((h) => h.device === 'lum-q2').length === 2);
  } finally {
    c.socket.destroy();
  }
});
