import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encode, topic } from '@poste/protocol';
import { MemoryStore } from '@poste/telemetry-store';
import fc from 'fast-check';
import type { Counter } from 'prom-client';
import { Registry } from 'prom-client';
import { CredentialsStore } from '../credentials/store';
import { createIngest, type Ingest } from '../ingest/ingest';
import { counterValue } from '../metrics';
import { connectPacket, rawSocket } from '../test-support/hostile-clients';
import { connect, silentLogger } from '../test-support/mqtt';
import { FUZZ_RUNS, afterConnect, beforeConnect } from '../test-support/mqtt-fuzz';
import { createBroker, type PosteBroker } from './broker';

/**
 * Raw MQTT bytes into a real listening broker with ingest attached: random and mutated packets
 * before and after authentication. No crash, no unhandled rejection, every connection the broker
 * closes is counted, and a legitimate gateway is still served afterwards.
 */
const WORKERS = 16;
/**
 * How long an input that neither got an answer nor was closed is left before the socket is dropped:
 * garbage before CONNECT mostly waits for bytes that never come (short), packets after CONNECT end
 * with a PINGREQ whose answer is awaited (longer: only an incomplete mutated packet stays quiet).
 */
const QUIET_PRE_MS = 5;
const QUIET_POST_MS = 25;
const CONNACK_MS = 2_000;
const SEED = Number(process.env.POSTE_FUZZ_SEED ?? 20_261_124);

type Input = { pre: Buffer } | { post: Buffer[] };

/** Writes `bytes` and waits for the broker to close, answer `answerByte` (packet type), or stay quiet. */
function exchange(s: Socket, bytes: Buffer, quietMs: number, answerByte?: number): Promise<'closed' | 'answered' | 'quiet'> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: 'closed' | 'answered' | 'quiet') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      resolve(r);
    };
    const onData = (d: Buffer) => {
      if (answerByte === undefined || d.includes(answerByte)) done('answered');
    };
    const onClose = () => done('closed');
    const timer = setTimeout(() => done('quiet'), quietMs);
    s.on('data', onData);
    s.once('close', onClose);
    if (s.destroyed) return done('closed');
    s.write(bytes);
  });
}

/** A raw connection that knows whether the broker closed it (as opposed to this side dropping it). */
class Conn {
  closedByBroker = false;
  #dropping = false;
  readonly gone: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    this.gone = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedByBroker = !this.#dropping;
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<Conn> {
    return new Conn(await rawSocket(port));
  }

  /** Drops the connection and waits for its close (so a later one with the same client id is no takeover). */
  async drop(): Promise<boolean> {
    this.#dropping = !this.socket.destroyed;
    this.socket.destroy();
    await this.gone;
    return this.closedByBroker;
  }
}

/**
 * One fuzz worker: inputs before CONNECT each on a fresh connection; inputs after CONNECT on the
 * worker's authenticated connection while it lives (one CONNECT for many inputs keeps the test fast).
 * Returns how many connections the broker closed.
 */
async function runWorker(port: number, gateway: string, password: string, take: () => Input | undefined): Promise<number> {
  let closed = 0;
  let live: Conn | undefined;
  const finish = async (c: Conn) => {
    if (await c.drop()) closed++;
  };
  for (let input = take(); input; input = take()) {
    if ('pre' in input) {
      const c = await Conn.open(port);
      await exchange(c.socket, input.pre, QUIET_PRE_MS);
      await finish(c);
      continue;
    }
    if (!live) {
      live = await Conn.open(port);
      const connack = await exchange(live.socket, connectPacket({ clientId: gateway, username: gateway, password }), CONNACK_MS, 0x20);
      if (connack !== 'answered') {
        await finish(live);
        live = undefined;
        continue;
      }
    }
    // PINGREQ after the packets: its PINGRESP (0xd0) says they were all handled.
    const r = await exchange(live.socket, Buffer.concat([...input.post, Buffer.from([0xc0, 0])]), QUIET_POST_MS, 0xd0);
    // Closed, or left mid-packet (quiet): this connection is spent.
    if (r !== 'answered') {
      await finish(live);
      live = undefined;
    }
  }
  if (live) await finish(live);
  return closed;
}

describe('fuzz: raw MQTT bytes into the broker', () => {
  let broker: PosteBroker;
  let ingest: Ingest;
  let store: MemoryStore;
  let port: number;
  const passwords = new Map<string, string>();
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  before(async () => {
    let creds = CredentialsStore.empty();
    for (const id of ['gw-legit', ...Array.from({ length: WORKERS }, (_, i) => `gw-fuzz-${i}`)]) {
      const r = await creds.withGateway(id, 'belem');
      creds = r.store;
      passwords.set(id, r.password);
    }
    const known = new Map(passwords);
    broker = await createBroker({
      credentials: creds,
      // The password check stands in for scrypt (tens of ms, one at a time on 2 cores), which would
      // turn 10,000 inputs into minutes; it is a fixed-size comparison, not a parser under test.
      // The login guard, client-id rules, ACL, stream guard, Aedes and ingest are the real ones.
      hooks: {
        authenticate: async (username, pw) => {
          if (username === undefined || !known.has(username)) return { ok: false, reason: 'unknown-user' };
          if (pw?.toString('utf8') !== known.get(username)) return { ok: false, reason: 'bad-password' };
          return { ok: true, principal: { role: 'gateway', id: username, municipality: 'belem' } };
        },
      },
      logger: silentLogger,
      registry: new Registry(),
      // Every input connects from 127.0.0.1: the per-address caps would otherwise measure themselves.
      guard: {
        connections: { maxPerAddress: 1_000, maxUnauthenticated: 1_000 },
        login: { perAddressBurst: 1_000_000, perAddressPerSecond: 1_000_000, backoffAfterFailures: 1_000_000 },
        publish: { messagesPerSecond: 1_000_000, messagesBurst: 1_000_000 },
      },
    });
    port = await broker.listen(0);
    store = new MemoryStore();
    await store.init();
    ingest = createIngest({ broker, store, directory: creds.directory(), flushIntervalMs: 10, logger: silentLogger });
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await ingest.close();
    await broker.close();
    await store.close();
  });

  test(`${FUZZ_RUNS} generated inputs: no crash, every close counted, a legitimate gateway served after`, async () => {
    const inputs = fc.sample(
      fc.oneof(
        beforeConnect('gw-fuzz-0', passwords.get('gw-fuzz-0')!).map((pre): Input => ({ pre })),
        fc.array(afterConnect, { minLength: 1, maxLength: 4 }).map((post): Input => ({ post })),
      ),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
    let next = 0;
    const take = () => inputs[next++];
    const closedPerWorker = await Promise.all(
      Array.from({ length: WORKERS }, (_, w) => runWorker(port, `gw-fuzz-${w}`, passwords.get(`gw-fuzz-${w}`)!, take)),
    );
    const closedByBroker = closedPerWorker.reduce((a, b) => a + b, 0);
    assert.deepEqual(unhandled, [], 'no unhandled rejection or exception');

    const m = broker.metrics;
    const clientErrors = m.registry.getSingleMetric('poste_broker_client_errors_total') as Counter<string>;
    const counted =
      (await counterValue(m.guardClosed)) +
      (await counterValue(m.authFailures)) +
      (await counterValue(m.connectionsRefused)) +
      (await counterValue(clientErrors));
    assert.ok(closedByBroker > 0, 'some inputs were refused');
    assert.ok(counted >= closedByBroker, `${closedByBroker} connections closed by the broker, ${counted} refusals counted`);

    // Still serving: a legitimate gateway connects, publishes, and its reading is written.
    const legit = await connect(port, 'gw-legit', passwords.get('gw-legit')!);
    const T = Date.UTC(2026, 0, 1);
    const reading = {
      device: 'L1',
      ts: T,
      activePower: 50,
      activeEnergy: 10,
      dimLevel: 50,
      voltage: 220,
      current: 0.3,
      powerFactor: 0.9,
      operatingHours: 1,
      switchOnCounter: 1,
      status: 'ok',
    };
    await legit.publishAsync(topic('luminaireTelemetry', { gateway: 'gw-legit' }), encode({ v: 1, seq: 0, readings: [reading] }), {
      qos: 1,
    });
    await legit.endAsync();
    const rows = await store.luminaireEnergy({ from: T, to: T + 1, gateway: 'gw-legit' });
    assert.equal(rows.length, 1);
  });
});
