import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandSchema, DeviceAckSchema } from './commands';
import { DesiredConfigSchema } from './config';
import { decode, decodeApBatch, decodeEventBatch, decodeLuminaireBatch, encode, formatPayloadError } from './decode';
import { PAYLOAD_SCHEMAS } from './payloads';
import { DeviceStateSchema, GatewayStateSchema } from './state';
import type { ApReading, LuminaireReading } from './telemetry';

const reading: LuminaireReading = {
  device: 'lum-1',
  ts: 1_700_000_000_000,
  activePower: 61.5,
  activeEnergy: 12_345.6,
  dimLevel: 80,
  voltage: 227.1,
  current: 0.28,
  powerFactor: 0.96,
  operatingHours: 1_500.25,
  switchOnCounter: 412,
  status: 'ok',
  group: 'avenida-brasil',
};

const ap: ApReading = {
  device: 'ap-1',
  ts: 1_700_000_000_000,
  capacityKbps: 50_000,
  uptime: 3600,
  clients: { household: 3, telemedicine: 1, public: 7 },
  bytes: { household: 1e9, telemedicine: 2e6, public: 5e8 },
};

describe('payload round trips', () => {
  const cases: Array<[string, { parse(v: unknown): unknown }, unknown]> = [
    [
      'gateway birth',
      GatewayStateSchema,
      { v: 1, status: 'online', seq: 3, ts: 1, agentVersion: '0.1.0', devices: { luminaires: 2, aps: 1 } },
    ],
    ['gateway will', GatewayStateSchema, { v: 1, status: 'offline', seq: 3, ts: 1 }],
    ['device state', DeviceStateSchema, { v: 1, kind: 'luminaire', status: 'online', seq: 0, ts: 5, group: 'g1', nominalPowerW: 90 }],
    [
      'command to a group',
      CommandSchema,
      { v: 1, id: 'c1', target: { group: 'g1' }, issuedAt: 1, expiresAt: 2, action: 'dim', level: 40, until: 9 },
    ],
    ['rebirth command', CommandSchema, { v: 1, id: 'c2', target: { gateway: true }, issuedAt: 1, expiresAt: 2, action: 'rebirth' }],
    ['device ack', DeviceAckSchema, { v: 1, id: 'c1', outcome: 'done', ts: 3 }],
    ['desired config', DesiredConfigSchema, { v: 1, version: 4, config: { telemetry: { batchMaxReadings: 100, batchMaxDelayMs: 500 } } }],
  ];
  for (const [name, schema, value] of cases) {
    it(`${name} survives encode → decode unchanged`, () => {
      const decoded = decode(schema as never, encode(value));
      assert.ok(decoded.ok, JSON.stringify(decoded));
      assert.deepEqual(decoded.value, schema.parse(value));
    });
  }

  it('luminaire and AP batches round trip', () => {
    const lum = decodeLuminaireBatch(encode({ v: 1, seq: 9, readings: [reading, reading] }));
    assert.ok(lum.ok);
    assert.deepEqual(lum.items, [reading, reading]);
    assert.equal(lum.seq, 9);
    const aps = decodeApBatch(encode({ v: 1, seq: 1, readings: [ap] }));
    assert.ok(aps.ok);
    assert.deepEqual(aps.items, [ap]);
  });

  it('every topic kind has a payload schema', () => {
    assert.equal(Object.keys(PAYLOAD_SCHEMAS).length, 19);
  });
});

describe('invalid payloads are rejected with the path of the error', () => {
  it('a bad reading is rejected alone; the rest of the batch survives', () => {
    const bad = { ...reading, dimLevel: 140 };
    const batch = decodeLuminaireBatch(encode({ v: 1, seq: 1, readings: [reading, bad, { ...reading, ts: -1 }] }));
    assert.ok(batch.ok);
    assert.equal(batch.items.length, 1);
    assert.deepEqual(
      batch.rejected.map((r) => r.error.path),
      ['readings[1].dimLevel', 'readings[2].ts'],
    );
    assert.match(batch.rejected[0]!.error.reason, /100/);
  });

  it('a broken envelope names the envelope field', () => {
    const r = decodeEventBatch(encode({ v: 2, seq: 1, events: [] }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.path, 'v');
  });

  it('non-JSON is refused with an empty path and a reason', () => {
    const r = decode(GatewayStateSchema, Buffer.from('{not json'));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.path, '');
      assert.match(formatPayloadError(r.error), /not JSON/);
    }
  });

  it('nested fields are named with their full path', () => {
    const r = decodeApBatch(encode({ v: 1, seq: 1, readings: [{ ...ap, bytes: { ...ap.bytes, public: -5 } }] }));
    assert.ok(r.ok);
    assert.equal(r.rejected[0]?.error.path, 'readings[0].bytes.public');
  });

  it('a command with an unknown action or a bad target is refused', () => {
    const r1 = decode(CommandSchema, encode({ v: 1, id: 'x', target: { device: 'd' }, issuedAt: 1, expiresAt: 2, action: 'explode' }));
    assert.equal(r1.ok, false);
    const r2 = decode(CommandSchema, encode({ v: 1, id: 'x', target: { device: 'a/b' }, issuedAt: 1, expiresAt: 2, action: 'rebirth' }));
    assert.equal(r2.ok, false);
    if (!r2.ok) assert.match(r2.error.path, /^target/);
  });
});
