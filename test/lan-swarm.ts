// A swarm of LAN devices as raw MQTT 3.1.1 sockets (mqtt-packet encodes and parses every byte, as
// a controller's firmware would send them): thousands of them can connect within one second from
// one test process, where as many mqtt.js clients would spend the second on their own timers.
// Each device connects (with its will, and credentials when given), publishes its retained birth
// at QoS 1, subscribes to its command topic, and acks every command it receives.
import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { encode, topic, type DeviceState } from '@poste/protocol';

export interface SwarmDevice {
  id: string;
  socket: Socket;
  connack: number | null;
  birthAcked: boolean;
  subscribed: boolean;
  commands: Array<{ id: string }>;
  closed: boolean;
}

export interface SwarmOptions {
  port: number;
  ids: readonly string[];
  /** Per-device password (username = the id); open mode when absent. */
  password?: (id: string) => string;
  /** Births are spread over this many ms (0 = all at once). */
  spreadMs?: number;
}

const birthOf = (status: DeviceState['status']): DeviceState => ({
  v: 1,
  kind: 'luminaire',
  status,
  seq: 1,
  ts: 1_700_000_000_000,
  group: 'storm',
});

function startDevice(opts: SwarmOptions, id: string): SwarmDevice {
  const socket = tcpConnect(opts.port, '127.0.0.1');
  socket.setNoDelay(true);
  const dev: SwarmDevice = { id, socket, connack: null, birthAcked: false, subscribed: false, commands: [], closed: false };
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const send = (packet: mqttPacket.Packet): void => {
    if (!socket.destroyed) socket.write(mqttPacket.generate(packet));
  };
  parser.on('packet', (p: mqttPacket.Packet) => {
    if (p.cmd === 'connack') {
      dev.connack = p.returnCode ?? 0;
      if (dev.connack !== 0) return;
      send({
        cmd: 'publish',
        topic: topic('localDeviceState', { device: id }),
        payload: encode(birthOf('online')),
        qos: 1,
        messageId: 1,
        retain: true,
        dup: false,
      });
      send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: topic('localCommand', { device: id }), qos: 1 }] });
    } else if (p.cmd === 'puback' && p.messageId === 1) dev.birthAcked = true;
    else if (p.cmd === 'suback') dev.subscribed = true;
    else if (p.cmd === 'publish') {
      const cmd = JSON.parse(Buffer.from(p.payload).toString('utf8')) as { id: string };
      dev.commands.push(cmd);
      if (p.qos === 1 && p.messageId !== undefined) send({ cmd: 'puback', messageId: p.messageId });
      send({
        cmd: 'publish',
        topic: topic('localAck', { device: id }),
        payload: encode({ v: 1, id: cmd.id, outcome: 'done', ts: Date.now() }),
        qos: 1,
        messageId: 3 + (dev.commands.length % 60_000),
        retain: false,
        dup: false,
      });
    }
  });
  parser.on('error', () => socket.destroy());
  socket.on('data', (d) => parser.parse(d));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    dev.closed = true;
  });
  socket.on('connect', () => {
    send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: id,
      keepalive: 0,
      will: { topic: topic('localDeviceState', { device: id }), payload: encode(birthOf('offline')), qos: 1, retain: true },
      ...(opts.password !== undefined && { username: id, password: Buffer.from(opts.password(id)) }),
    });
  });
  return dev;
}

/** Starts every device; those beyond the first open over `spreadMs` (timers, not a loop that holds the event loop). */
export function startSwarm(opts: SwarmOptions): SwarmDevice[] {
  const spread = opts.spreadMs ?? 0;
  const devices: SwarmDevice[] = [];
  const slices = spread > 0 ? 10 : 1;
  const perSlice = Math.ceil(opts.ids.length / slices);
  for (let s = 0; s < slices; s++) {
    const ids = opts.ids.slice(s * perSlice, (s + 1) * perSlice);
    const open = (): void => {
      for (const id of ids) devices.push(startDevice(opts, id));
    };
    if (s === 0) open();
    else setTimeout(open, (spread * s) / slices);
  }
  return devices;
}

export function stopSwarm(devices: readonly SwarmDevice[]): void {
  for (const d of devices) d.socket.destroy();
}
