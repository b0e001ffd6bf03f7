// Fuzzing the LAN endpoint with raw MQTT bytes (fast-check), each input on its own TCP connection
// to a running agent with device credentials: 10,000 inputs in three families. The agent must not
// crash or leave a rejection unhandled, must count every refusal it can be held to exactly, and
// must still serve a real device afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { topic } from '@poste/protocol';
import { startAgent, type Agent } from '../../core/agent';
import { ManualTimers, connectDevice, deviceState, silentLogger, startNorthPeer, type NorthPeer } from '../../core/test-support';
import { hashDeviceSecret } from './device-credentials';

const SECRET = 'fuzz-secret-0123456789';
const CONCURRENCY = 32;
let agent: Agent;
let north: NorthPeer;
let dir: string;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => void unhandled.push(err);

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  dir = mkdtempSync(join(tmpdir(), 'poste-lan-fuzz-'));
  const credentialsFile = join(dir, 'devices.json');
  // One device per concurrent worker: two connections with one client id would take over each other's session.
  const ids = [...Array.from({ length: CONCURRENCY }, (_, w) => `fz-${w}`), 'lum-ok'];
  writeFileSync(credentialsFile, JSON.stringify({ version: 1, devices: ids.map((id) => ({ id, secretHash: hashDeviceSecret(SECRET) })) }));
  north = await startNorthPeer();
  const timers = new ManualTimers();
  agent = await startAgent({
    configVersion: 3,
    gatewayId: 'gw-fuzz',
    north: { url: north.url },
    adapters: [
      {
        kind: 'poste',
        port: 0,
        auth: { mode: 'credentials', credentialsFile },
        limits: { publishPerSecond: 100_000, publishBurst: 100_000, maxPayloadBytes: 4_096, connectTimeoutMs: 1_000 },
      },
    ],
    clock: timers.clock,
    timers,
    logger: silentLogger,
    dimming: { enabled: false },
  });
});

after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await agent.stop({ abrupt: true });
  await north.close();
  rmSync(dir, { recursive: true, force: true });
});

function refusals(): Record<string, number> {
  const t = agent.stats().adapters.poste!.transport;
  return Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith('refused.'))) as Record<string, number>;
}
const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/**
 * Writes the bytes, then half-closes, and resolves once the agent closed the connection. `awaitReply`
 * waits for the agent's first answer (a CONNACK, a PUBACK) before half-closing, so what was sent is handled.
 */
function exchange(port: number, bytes: Buffer, awaitReply = 0): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (awaitReply > 0 && got.length >= awaitReply) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('connect', () => {
      s.write(bytes);
      if (awaitReply === 0) s.end();
    });
    // A reply that never comes (the agent dropped the connection, or is slow): stop waiting.
    setTimeout(() => s.destroy(), 3_000).unref();
  });
}

/** Runs the inputs on CONCURRENCY workers; `one` learns its worker's number. */
async function runAll<T>(inputs: readonly T[], one: (x: T, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (next < inputs.length) await one(inputs[next++]!, w);
    }),
  );
}

const connectPacket = (clientId: string, password = SECRET): Buffer =>
  mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 0,
    username: clientId,
    password: Buffer.from(password),
  });

test('LAN fuzz: 4,000 random byte strings that do not start with a CONNECT are each refused and counted exactly once', async () => {
  const inputs = fc.sample(
    fc.tuple(
      fc.integer({ min: 0, max: 255 }).filter((b) => b >> 4 !== 1),
      fc.uint8Array({ maxLength: 300 }),
    ),
    { numRuns: 4_000, seed: 0x1a4 },
  );
  const before = total(refusals());
  await runAll(inputs, async ([first, rest]) => void (await exchange(agent.localPort, Buffer.concat([Buffer.from([first]), rest]))));
  assert.equal(total(refusals()) - before, inputs.length, JSON.stringify(refusals()));
  assert.deepEqual(unhandled, []);
});

test('LAN fuzz: 3,000 CONNECT-shaped inputs (valid, corrupted, truncated, followed by random bytes) never crash the agent or count one connection twice', async () => {
  const valid = connectPacket('fz-0');
  const input = fc.oneof(
    // a valid CONNECT with random bytes behind it
    fc.uint8Array({ maxLength: 200 }).map((tail) => Buffer.concat([valid, tail])),
    // one byte of the CONNECT changed
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const copy = Buffer.from(valid);
      copy[i] = b;
      return copy;
    }),
    // cut short
    fc.nat({ max: valid.length - 1 }).map((n) => valid.subarray(0, n)),
    // a CONNECT header announcing a random length, then random bytes
    fc
      .tuple(fc.integer({ min: 0, max: 16_383 }), fc.uint8Array({ maxLength: 200 }))
      .map(([len, body]) => Buffer.concat([Buffer.from([0x10, (len & 0x7f) | 0x80, len >> 7]), body])),
  );
  const inputs = fc.sample(input, { numRuns: 3_000, seed: 0x5e7 });
  const before = total(refusals());
  await runAll(inputs, async (bytes) => void (await exchange(agent.localPort, bytes)));
  const counted = total(refusals()) - before;
  assert.ok(counted <= inputs.length, `${counted} refusals for ${inputs.length} connections`);
  assert.ok(counted > 0, 'corrupted CONNECTs were refused');
  assert.deepEqual(unhandled, []);
});

test('LAN fuzz: 3,000 logged-in PUBLISHes with generated topics, flags and payloads — each one accepted, rejected by the agent (counted) or refused by the ACL (counted)', async () => {
  const ownKinds = ['state', 'telemetry', 'event', 'ack', 'cmd'] as const;
  const input = fc.record({
    // 'self' = the worker's own device id, filled in when it runs
    target: fc.oneof(
      fc
        .tuple(fc.constantFrom('self', 'self', 'fz-other', 'lum-ok'), fc.constantFrom(...ownKinds))
        .map(([d, k]) => `poste/v1/dev/${d}/${k}`),
      fc.stringMatching(/^[a-z0-9/_-]{1,40}$/),
    ),
    retain: fc.boolean(),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j)),
      fc
        .record({
          v: fc.constant(1),
          kind: fc.constantFrom('luminaire', 'ap'),
          status: fc.constantFrom('online', 'offline'),
          seq: fc.nat(),
          ts: fc.nat(),
        })
        .map((o) => Buffer.from(JSON.stringify(o))),
    ),
  });
  const inputs = fc.sample(input, { numRuns: 3_000, seed: 0xc0de });
  const r0 = refusals();
  const rejected0 = agent.stats().rejected.total;
  const handed0 = agent.stats().adapters.poste!.handedIn;
  let expectedAclRefusals = 0;
  let expectedHandedIn = 0;
  await runAll(inputs, async (input, w) => {
    const device = `fz-${w}`;
    const x = { ...input, target: input.target.replace('/self/', `/${device}/`) };
    const own = x.target.startsWith(`poste/v1/dev/${device}/`) && !x.target.endsWith('/cmd');
    const retainOk = !x.retain || x.target.endsWith('/state');
    if (!own || !retainOk) expectedAclRefusals++;
    else expectedHandedIn++;
    const publish = mqttPacket.generate({
      cmd: 'publish',
      topic: x.target,
      payload: x.payload,
      qos: 1,
      messageId: 1,
      retain: x.retain,
      dup: false,
    });
    // CONNACK (4 bytes), then PUBACK (4 bytes) or the connection closed by a refusal.
    await exchange(agent.localPort, Buffer.concat([connectPacket(device), publish]), 8);
  });
  const r1 = refusals();
  const acl = ['publish-topic', 'publish-command', 'retain'].reduce((n, k) => n + (r1[`refused.${k}`]! - r0[`refused.${k}`]!), 0);
  assert.equal(acl, expectedAclRefusals, 'every ACL refusal counted');
  const handed1 = agent.stats().adapters.poste!.handedIn;
  const handed =
    handed1.states +
    handed1.telemetry +
    handed1.events +
    handed1.acks -
    (handed0.states + handed0.telemetry + handed0.events + handed0.acks);
  assert.equal(handed, expectedHandedIn, 'every permitted publish reached the agent');
  const rejected = agent.stats().rejected.total - rejected0;
  assert.ok(rejected > 0 && rejected <= expectedHandedIn, `${rejected} of ${expectedHandedIn} handed in were invalid and counted`);
  assert.equal(total(r1) - total(r0), expectedAclRefusals, 'nothing else refused');
  assert.deepEqual(unhandled, []);

  // And a real device still gets through.
  const { client, commands } = await connectDevice(agent.localPort, 'lum-ok', deviceState('luminaire', 'online'), {
    autoAck: true,
    password: SECRET,
  });
  try {
    const ack = await agent.commandDevice('lum-ok', { action: 'identify', durationS: 5 });
    assert.equal(ack.outcome, 'done');
    assert.equal(commands.length, 1);
    assert.equal(topic('localCommand', { device: 'lum-ok' }), 'poste/v1/dev/lum-ok/cmd');
  } finally {
    client.end(true);
  }
});
