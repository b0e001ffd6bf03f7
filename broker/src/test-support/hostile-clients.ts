import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { createBroker, type BrokerOptions, type PosteBroker } from '../broker/broker';
import { followCredentialsFile } from '../broker/follow-credentials';
import { addGateway, addService, loadCredentials } from '../credentials/store';
import type { CredentialsWatch } from '../credentials/watch';
import { connect, silentLogger } from './mqtt';

/** MQTT variable-byte integer (remaining length). */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** A complete MQTT 3.1.1 CONNECT packet, hand-built so tests control every byte. */
export function connectPacket(o: { clientId: string; username?: string; password?: string; keepalive?: number }): Buffer {
  const flags = 0x02 | (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags, 0, o.keepalive ?? 30]),
    str(o.clientId),
    ...(o.username !== undefined ? [str(o.username)] : []),
    ...(o.password !== undefined ? [str(o.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/** A raw TCP socket to the broker, optionally from another loopback address (127.0.0.0/8 all reach lo). */
export function rawSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with how long (ms) until the socket closed, or rejects after `withinMs`. */
export function closedWithin(s: Socket, withinMs: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    if (s.destroyed || s.readyState === 'closed') return resolve(0);
    const timer = setTimeout(() => reject(new Error(`socket still open after ${withinMs} ms`)), withinMs);
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
  });
}

/** Sends CONNECT on a raw socket; resolves to the CONNACK return code, or 'closed' if cut first. */
export async function rawConnack(s: Socket, packet: Buffer, withinMs = 15_000): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => resolve('closed'), withinMs);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf[0] === 0x20) {
        clearTimeout(timer);
        resolve(buf[3]!);
      }
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.write(packet);
  });
}

/**
 * A legitimate gateway ingesting at a steady offered rate (QoS 1, at most `window` unacknowledged),
 * so a test can measure the acknowledged rate while an attack runs.
 */
export class SteadyPublisher {
  acked = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;

  constructor(
    readonly client: MqttClient,
    readonly topic: string,
    readonly perSecond = 100,
    readonly window = 50,
  ) {}

  start(): this {
    this.#timer = setInterval(() => {
      if (this.#inFlight >= this.window || !this.client.connected) return;
      this.#inFlight++;
      this.client.publish(this.topic, '{"steady":true}', { qos: 1 }, (err) => {
        this.#inFlight--;
        if (!err) this.acked++;
      });
    }, 1000 / this.perSecond);
    return this;
  }

  /** Acknowledged publishes per second over the next `ms`. */
  async rateOver(ms: number): Promise<number> {
    const before = this.acked;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    return ((this.acked - before) * 1000) / (performance.now() - t0);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface HostileRig {
  dir: string;
  credentialsFile: string;
  broker: PosteBroker;
  port: number;
  passwords: Record<string, string>;
  /** gateway publishes that reached the publish gate (what ingest would write), by gateway */
  ingested: Map<string, number>;
  watch: CredentialsWatch;
  close(): Promise<void>;
}

/** A broker on a credentials file it follows, with a counting publish gate standing for ingest. */
export async function startHostileRig(
  gateways: string[],
  services: string[],
  opts: Omit<BrokerOptions, 'credentials'> = {},
): Promise<HostileRig> {
  const dir = await mkdtemp(join(tmpdir(), 'poste-hostile-'));
  const credentialsFile = join(dir, 'credentials.json');
  const passwords: Record<string, string> = {};
  for (const gw of gateways) passwords[gw] = await addGateway(credentialsFile, gw, 'belem');
  for (const svc of services) passwords[svc] = await addService(credentialsFile, svc);
  const broker = await createBroker({
    logger: silentLogger,
    registry: new Registry(),
    ...opts,
    credentials: await loadCredentials(credentialsFile),
  });
  const ingested = new Map<string, number>();
  broker.setPublishGate(async (_packet, gw) => {
    ingested.set(gw.id, (ingested.get(gw.id) ?? 0) + 1);
  });
  const port = await broker.listen(0);
  const watch = followCredentialsFile(credentialsFile, broker, silentLogger);
  return {
    dir,
    credentialsFile,
    broker,
    port,
    passwords,
    ingested,
    watch,
    async close() {
      watch.close();
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Connects a gateway with the real mqtt client (client id = its id). */
export function gateway(rig: HostileRig, id: string): Promise<MqttClient> {
  return connect(rig.port, id, rig.passwords[id]!);
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Polls `cond` every 20 ms until true or `ms` elapsed; returns the final value. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
