// Helpers shared by the agent's tests (not part of the public surface).
import { Aedes, type AedesPublishPacket } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { encode, topic, type Clock, type DeviceState } from '@poste/protocol';
import type { TimerHandle, Timers } from './timers';

export const silentLogger = pino({ level: 'silent' });

/** Timers that only fire when the test advances them, with a clock that moves along. */
export class ManualTimers implements Timers {
  #now: number;
  #nextId = 1;
  readonly #due = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  readonly clock: Clock = { now: () => this.#now };

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#due.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#due.delete(handle as number);
  }

  get pending(): number {
    return this.#due.size;
  }

  /** Moves time forward, firing due timers in deadline order (including ones they schedule). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let nextId: number | null = null;
      let nextAt = Infinity;
      for (const [id, t] of this.#due) if (t.at <= target && t.at < nextAt) [nextId, nextAt] = [id, t.at];
      if (nextId === null) break;
      const t = this.#due.get(nextId)!;
      this.#due.delete(nextId);
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = target;
  }
}

export interface ReceivedMessage {
  topic: string;
  json: unknown;
}

/** A throwaway cloud broker on a free loopback port that records everything published to it. */
export interface NorthPeer {
  url: string;
  messages: ReceivedMessage[];
  on(topicName: string): unknown[];
  publish(topicName: string, value: unknown, retain?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startNorthPeer(): Promise<NorthPeer> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  const messages: ReceivedMessage[] = [];
  await new Promise<void>((resolve) =>
    broker.subscribe(
      'poste/#',
      (packet: AedesPublishPacket, cb: () => void) => {
        let json: unknown = null;
        try {
          json = JSON.parse(Buffer.from(packet.payload).toString('utf8'));
        } catch {
          json = Buffer.from(packet.payload).toString('utf8');
        }
        messages.push({ topic: packet.topic, json });
        cb();
      },
      resolve,
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    messages,
    on: (t) => messages.filter((m) => m.topic === t).map((m) => m.json),
    publish: (t, value, retain = false) =>
      new Promise((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic: t, payload: encode(value), qos: 1, retain, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      ),
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls with real time until `check` holds; tests assert behaviour, this only bounds the wait. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function deviceState(kind: DeviceState['kind'], status: DeviceState['status'], extra: Partial<DeviceState> = {}): DeviceState {
  return { v: 1, kind, status, seq: 1, ts: 1_700_000_000_000, ...extra };
}

/**
 * A device as an mqtt.js client on the agent's LAN port: retained birth, last will offline, and
 * (unless told otherwise) acks every command with `done`.
 */
export async function connectDevice(
  port: number,
  id: string,
  birth: DeviceState,
  opts: { autoAck?: boolean; password?: string } = {},
): Promise<{ client: MqttClient; commands: unknown[] }> {
  const client = connect(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    // A LAN with device credentials: the device logs in as itself.
    ...(opts.password !== undefined && { username: id, password: opts.password }),
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: {
      topic: topic('localDeviceState', { device: id }),
      payload: encode({ ...birth, status: 'offline' }),
      qos: 1,
      retain: true,
    },
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const commands: unknown[] = [];
  await client.subscribeAsync(topic('localCommand', { device: id }), { qos: 1 });
  client.on('message', (_t, payload) => {
    const cmd = JSON.parse(payload.toString('utf8')) as { id: string };
    commands.push(cmd);
    if (opts.autoAck !== false) {
      client.publish(topic('localAck', { device: id }), encode({ v: 1, id: cmd.id, outcome: 'done', ts: Date.now() }), { qos: 1 });
    }
  });
  await client.publishAsync(topic('localDeviceState', { device: id }), encode(birth), { qos: 1, retain: true });
  return { client, commands };
}
