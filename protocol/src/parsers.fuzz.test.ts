import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decode, decodeApBatch, decodeEventBatch, decodeLuminaireBatch, type Decoded, type DecodedBatch } from './decode';
import { PAYLOAD_SCHEMAS } from './payloads';
import { checkApBounds, checkEventValue, checkLuminaireBounds, checkTimestamp } from './plausibility';
import { TOPICS, parseTopic, topic, type TopicKind } from './topics';

/** Generated inputs per parser (issue 8: at least 10,000 each in CI). */
const RUNS = 10_000;
const SEED = 20_261_124;

const KINDS = Object.keys(TOPICS) as TopicKind[];

/** A refusal is a path and a reason, both strings: never an exception. */
function assertRefusal(r: Decoded<unknown> | DecodedBatch<unknown>): void {
  if (r.ok) return;
  assert.equal(typeof r.error.path, 'string');
  assert.ok(typeof r.error.reason === 'string' && r.error.reason.length > 0);
}

const idLike = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), fc.string({ maxLength: 70 }));
const segment = fc.oneof(
  fc.constantFrom(
    'poste',
    'v1',
    'gw',
    'dev',
    'state',
    'telemetry',
    'luminaire',
    'ap',
    'events',
    'cmd',
    'ack',
    'config',
    'desired',
    'reported',
    '+',
    '#',
    '',
  ),
  idLike,
);
const topicLike = fc.oneof(
  fc.array(segment, { maxLength: 8 }).map((s) => s.join('/')),
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc
    .tuple(fc.constantFrom(...KINDS), fc.dictionary(fc.constantFrom('gateway', 'device'), idLike))
    .map(([k, p]) => TOPICS[k].replace(/\{(\w+)\}/g, (_, n: string) => p[n] ?? 'x')),
);

describe('fuzz: topic parser', () => {
  it(`${RUNS} topics: parseTopic never throws, and what it accepts builds back to the same topic`, () => {
    fc.assert(
      fc.property(topicLike, (t) => {
        const parsed = parseTopic(t);
        if (parsed) assert.equal(topic(parsed.kind, parsed.params as never), t);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

/** JSON-ish bytes: valid JSON of any shape, a valid envelope with arbitrary items, deep nesting, or raw bytes. */
const jsonValue = fc.jsonValue({ maxDepth: 5 });
const reading = fc.record(
  {
    device: idLike,
    ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 48 }), fc.double()),
    activePower: fc.double(),
    activeEnergy: fc.oneof(fc.double(), fc.constant(1e308)),
    dimLevel: fc.double(),
    voltage: fc.double(),
    current: fc.double(),
    powerFactor: fc.double(),
    operatingHours: fc.double(),
    switchOnCounter: fc.integer(),
    status: fc.constantFrom('ok', 'lampFailure', 'bogus'),
    capacityKbps: fc.double(),
    uptime: fc.double(),
    clients: fc.record({ household: fc.integer(), telemedicine: fc.integer(), public: fc.integer() }),
    bytes: fc.record({ household: fc.integer(), telemedicine: fc.double(), public: fc.integer() }),
    type: fc.constantFrom('motion', 'traffic', 'nope'),
    active: fc.boolean(),
    value: fc.double(),
  },
  { requiredKeys: [] },
);
const payloadBytes: fc.Arbitrary<Buffer> = fc.oneof(
  jsonValue.map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record({
      v: fc.oneof(fc.constant(1), jsonValue),
      seq: fc.oneof(fc.nat(), jsonValue),
      items: fc.array(fc.oneof(reading, jsonValue), { maxLength: 8 }),
    })
    .map((e) => Buffer.from(JSON.stringify({ v: e.v, seq: e.seq, readings: e.items, events: e.items }))),
  fc.integer({ min: 1, max: 5_000 }).map((n) => Buffer.from(`{"v":1,"seq":0,"readings":[${'['.repeat(n)}${']'.repeat(n)}]}`)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s)),
);

describe('fuzz: payload decoders', () => {
  for (const kind of KINDS) {
    it(`${RUNS} payloads for ${kind}: decode never throws; a refusal names a path and a reason`, () => {
      fc.assert(
        fc.property(payloadBytes, (bytes) => assertRefusal(decode(PAYLOAD_SCHEMAS[kind], bytes))),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }

  it(`${RUNS} telemetry and event batches: items + rejected = the batch; plausibility never throws on what passes`, () => {
    fc.assert(
      fc.property(payloadBytes, fc.nat(), (bytes, now) => {
        const lum = decodeLuminaireBatch(bytes);
        assertRefusal(lum);
        const ap = decodeApBatch(bytes);
        const ev = decodeEventBatch(bytes);
        const envelope = lum.ok || ap.ok ? (JSON.parse(bytes.toString('utf8')) as { readings: unknown[] }) : undefined;
        if (lum.ok) {
          assert.equal(lum.items.length + lum.rejected.length, envelope!.readings.length);
          for (const r of lum.items) {
            checkLuminaireBounds(r);
            checkTimestamp(r.ts, now, 300_000, undefined);
          }
        }
        if (ap.ok) for (const r of ap.items) checkApBounds(r);
        if (ev.ok) for (const e of ev.items) checkEventValue(e.value);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
