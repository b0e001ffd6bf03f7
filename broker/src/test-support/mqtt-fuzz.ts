import fc from 'fast-check';
import { connectPacket, varint } from './hostile-clients';

/** Generated inputs per fuzzed parser in CI (issue 8: at least 10,000 each). */
export const FUZZ_RUNS = 10_000;

function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from([(b.length >> 8) & 0xff, b.length & 0xff]), b]);
}

/** A PUBLISH packet (MQTT 3.1.1), flags as given so tests can send invalid QoS/retain combinations. */
export function publishPacket(o: {
  topic: string | Buffer;
  payload: Buffer;
  qos: number;
  retain?: boolean;
  dup?: boolean;
  id?: number;
}): Buffer {
  const flags = ((o.dup ? 1 : 0) << 3) | ((o.qos & 3) << 1) | (o.retain ? 1 : 0);
  const id = o.qos > 0 ? Buffer.from([((o.id ?? 1) >> 8) & 0xff, (o.id ?? 1) & 0xff]) : Buffer.alloc(0);
  const body = Buffer.concat([str(o.topic), id, o.payload]);
  return Buffer.concat([Buffer.from([0x30 | flags]), varint(body.length), body]);
}

/** A SUBSCRIBE packet with one filter. */
export function subscribePacket(filter: string | Buffer, qos: number, id = 1): Buffer {
  const body = Buffer.concat([Buffer.from([(id >> 8) & 0xff, id & 0xff]), str(filter), Buffer.from([qos & 0xff])]);
  return Buffer.concat([Buffer.from([0x82]), varint(body.length), body]);
}

/** Flips, overwrites, truncates or extends a packet: the mutations a fuzzer of a binary protocol makes. */
export function mutated(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      base,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'cut', 'grow')), { maxLength: 4 }),
    )
    .map(([packet, edits]) => {
      let b = Buffer.from(packet);
      for (const [at, value, kind] of edits) {
        if (b.length === 0) break;
        const i = at % b.length;
        if (kind === 'flip') b[i] = b[i]! ^ (1 << (value % 8));
        else if (kind === 'set') b[i] = value;
        else if (kind === 'cut') b = b.subarray(0, i);
        else b = Buffer.concat([b, Buffer.alloc(value % 64, value)]);
      }
      return b;
    });
}

const topicLike = fc.oneof(
  fc.constantFrom(
    'poste/v1/gw/gw-fuzz/telemetry/luminaire',
    'poste/v1/gw/gw-fuzz/telemetry/ap',
    'poste/v1/gw/gw-fuzz/events',
    'poste/v1/gw/gw-fuzz/dev/L1/state',
    'poste/v1/gw/gw-fuzz/state',
    'poste/v1/gw/other/telemetry/luminaire',
    '$SYS/x',
    '#',
    'a/+/b',
    '',
  ),
  fc.string({ maxLength: 40 }),
);

const payloadLike = fc.oneof(
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
  fc.constant(Buffer.from('{"v":1,"seq":0,"readings":[{"device":"L1","ts":1,"activePower":1e308}]}')),
  fc.integer({ min: 1, max: 2_000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
);

/** Packets a gateway might send after a valid CONNECT: well-formed, malformed and mutated. */
export const afterConnect: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record({
      topic: topicLike,
      payload: payloadLike,
      qos: fc.integer({ min: 0, max: 3 }),
      retain: fc.boolean(),
      dup: fc.boolean(),
      id: fc.integer({ min: 0, max: 65_535 }),
    })
    .map(publishPacket),
  fc.tuple(topicLike, fc.integer({ min: 0, max: 4 })).map(([f, q]) => subscribePacket(f, q)),
  mutated(fc.record({ topic: topicLike, payload: payloadLike, qos: fc.integer({ min: 0, max: 2 }) }).map(publishPacket)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constantFrom(Buffer.from([0xc0, 0]), Buffer.from([0xe0, 0]), Buffer.from([0x10, 0]), Buffer.from([0xf0, 0])),
);

/** What reaches the broker before authentication: random bytes, mutated CONNECTs, wrong credentials. */
export const beforeConnect = (gateway: string, password: string): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 128 }).map((a) => Buffer.from(a)),
    mutated(fc.constant(connectPacket({ clientId: gateway, username: gateway, password }))),
    fc
      .record({
        clientId: fc.string({ maxLength: 30 }),
        username: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        password: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      })
      .map(connectPacket),
  );
