// A minimal MQTT 3.1.1 broker for the agent's delivery tests (not part of the public surface):
// it speaks the real wire protocol (mqtt-packet), records every packet a client sends in order,
// and lets the test decide when each QoS 1 PUBLISH gets its PUBACK — which a full broker such as
// Aedes cannot do per message — so the in-flight window, rewinds and replays can be observed.
import { createServer, type Server, type Socket } from 'node:net';
import { generate, parser, type Packet } from 'mqtt-packet';

export interface SeenPacket {
  /** connection number, from 1 */
  conn: number;
  cmd: string;
  topic?: string;
  json?: unknown;
}

export interface TestBroker {
  readonly url: string;
  /** every packet clients sent, in arrival order */
  readonly seen: SeenPacket[];
  /** publishes on these topics (predicate) are acknowledged only by release(); others at once */
  holdWhen: (topic: string) => boolean;
  /** false: connections are closed as soon as they open (the uplink is "down") */
  accepting: boolean;
  /** QoS 1 publishes awaiting their PUBACK on the live connection */
  readonly held: number;
  /** Acknowledges the oldest `n` held publishes (all when omitted). */
  release(n?: number): void;
  /** Closes every connection abruptly (a network cut); held publishes die unacknowledged. */
  dropConnections(): void;
  /** Sends a QoS 1 PUBLISH to every live connection (a cloud command, a desired config). */
  publish(topic: string, value: unknown, retain?: boolean): void;
  /** Parsed payloads of PUBLISHes on `topic`, in order. */
  on(topic: string): unknown[];
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const sockets = new Set<Socket>();
  const seen: SeenPacket[] = [];
  let held: Array<{ socket: Socket; messageId: number }> = [];
  let conns = 0;
  let nextId = 1;
  const write = (socket: Socket, packet: Packet): void => {
    if (!socket.destroyed) socket.write(generate(packet));
  };

  const server: Server = createServer((socket) => {
    if (!broker.accepting) {
      socket.destroy();
      return;
    }
    const conn = ++conns;
    sockets.add(socket);
    const p = parser({ protocolVersion: 4 });
    socket.on('data', (d) => p.parse(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      held = held.filter((h) => h.socket !== socket);
    });
    p.on('packet', (packet: Packet) => {
      const entry: SeenPacket = { conn, cmd: packet.cmd };
      if (packet.cmd === 'publish') {
        entry.topic = packet.topic;
        try {
          entry.json = JSON.parse(packet.payload.toString());
        } catch {
          entry.json = packet.payload.toString();
        }
      }
      seen.push(entry);
      switch (packet.cmd) {
        case 'connect':
          write(socket, { cmd: 'connack', returnCode: 0, sessionPresent: false });
          return;
        case 'subscribe':
          write(socket, { cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => 1 as const) });
          return;
        case 'publish':
          if (packet.qos === 0) return;
          if (broker.holdWhen(packet.topic)) held.push({ socket, messageId: packet.messageId! });
          else write(socket, { cmd: 'puback', messageId: packet.messageId! });
          return;
        case 'pingreq':
          write(socket, { cmd: 'pingresp' });
          return;
        case 'disconnect':
          socket.end();
          return;
        default:
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : 0;

  const broker: TestBroker = {
    url: `mqtt://127.0.0.1:${port}`,
    seen,
    holdWhen: () => false,
    accepting: true,
    get held() {
      return held.length;
    },
    release(n = held.length) {
      for (const h of held.splice(0, n)) write(h.socket, { cmd: 'puback', messageId: h.messageId });
    },
    dropConnections() {
      for (const s of sockets) s.destroy();
      held = [];
    },
    publish(topic, value, retain = false) {
      for (const s of sockets)
        write(s, { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(value)), qos: 1, messageId: nextId++, retain, dup: false });
    },
    on: (topic) => seen.filter((s) => s.cmd === 'publish' && s.topic === topic).map((s) => s.json),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return broker;
}
