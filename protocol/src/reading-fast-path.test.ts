import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as z from 'zod';
import { DeviceEventSchema, EventBatchEnvelopeSchema } from './events';
import {
  apReadingFastPath,
  compileFastPath,
  deviceEventFastPath,
  eventEnvelopeFastPath,
  luminaireReadingFastPath,
  telemetryEnvelopeFastPath,
} from './reading-fast-path';
import { ApReadingSchema, LuminaireReadingSchema, TelemetryBatchEnvelopeSchema } from './telemetry';

const RUNS = 10_000;

/** Values near every bound of the reading schemas, and the kinds of junk a payload can carry. */
const edgyNumber = fc.oneof(
  fc.constantFrom(0, -0, -1e-9, 1, 1.5, 100, 100.0001, 1_000, 1_000.5, 100_000, 100_001, 2 ** 53 - 1, 2 ** 53, 1e308, -5),
  fc.double({ noNaN: false }),
  fc.integer(),
);
const junk = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), edgyNumber);
const id = fc.oneof(fc.constantFrom('lum-1', 'a', 'A.b_c-9', '-bad', '', 'x'.repeat(64), 'x'.repeat(65), 'é'), fc.string());

const luminaireLike = fc.record(
  {
    device: fc.oneof(id, junk),
    ts: fc.oneof(fc.constantFrom(Date.UTC(2026, 0, 1), 0, -1, 1.5), edgyNumber),
    activePower: edgyNumber,
    activeEnergy: edgyNumber,
    dimLevel: edgyNumber,
    voltage: edgyNumber,
    current: edgyNumber,
    powerFactor: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), edgyNumber),
    operatingHours: edgyNumber,
    switchOnCounter: fc.oneof(fc.nat(), edgyNumber),
    status: fc.oneof(fc.constantFrom('ok', 'lampFailure', 'dayBurner', 'OK', ''), junk),
    group: fc.oneof(id, junk),
    extra: junk,
  },
  { requiredKeys: [] },
);

const validLuminaire = fc.record(
  {
    device: fc.constantFrom('lum-1', 'gw1-lum-0042'),
    ts: fc.nat(),
    activePower: fc.double({ min: 0, max: 100_000, noNaN: true }),
    activeEnergy: fc.double({ min: 0, max: 1e12, noNaN: true }),
    dimLevel: fc.double({ min: 0, max: 100, noNaN: true }),
    voltage: fc.double({ min: 0, max: 1_000, noNaN: true }),
    current: fc.double({ min: 0, max: 1_000, noNaN: true }),
    powerFactor: fc.double({ min: 0, max: 1, noNaN: true }),
    operatingHours: fc.double({ min: 0, max: 1e6, noNaN: true }),
    switchOnCounter: fc.nat(),
    status: fc.constantFrom('ok', 'lampFailure', 'driverFailure', 'dayBurner', 'cyclingFailure', 'supplyLoss'),
    group: fc.constantFrom('g1', 'praca-central'),
  },
  {
    requiredKeys: [
      'device',
      'ts',
      'activePower',
      'activeEnergy',
      'dimLevel',
      'voltage',
      'current',
      'powerFactor',
      'operatingHours',
      'switchOnCounter',
      'status',
    ],
  },
);

/** A valid reading with one field replaced (or removed): the inputs that sit right at a bound. */
const mutatedLuminaire = fc
  .tuple(
    validLuminaire,
    fc.constantFrom(...Object.keys(LuminaireReadingSchema.shape), 'extra'),
    fc.oneof(edgyNumber, junk, fc.constant(undefined)),
  )
  .map(([r, key, value]) => ({ ...r, [key]: value }));

const perClass = fc.oneof(
  fc.record(
    { household: fc.oneof(fc.nat(), edgyNumber), telemedicine: fc.oneof(fc.nat(), edgyNumber), public: fc.oneof(fc.nat(), edgyNumber) },
    { requiredKeys: [] },
  ),
  junk,
);
const apLike = fc.record(
  {
    device: fc.oneof(id, junk),
    ts: fc.oneof(fc.nat(), edgyNumber),
    capacityKbps: edgyNumber,
    uptime: edgyNumber,
    clients: perClass,
    bytes: perClass,
    coproduction: fc.oneof(
      fc.record(
        {
          v: fc.oneof(fc.constant(1), edgyNumber),
          telemedicineSessions: fc.oneof(fc.nat(), edgyNumber),
          telemedicineSessionsActive: fc.oneof(fc.nat(), edgyNumber),
          reserveKbps: edgyNumber,
          reserveMeasuredS: edgyNumber,
          reserveHonouredS: edgyNumber,
        },
        { requiredKeys: [] },
      ),
      junk,
    ),
    extra: junk,
  },
  { requiredKeys: [] },
);

/** What ingest sees: the value after a JSON round trip (no undefined, no -0, no NaN). */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');

function assertAgreesWithZod<T>(fast: (v: unknown) => T | undefined, schema: z.ZodType<T>, input: unknown): boolean {
  const quick = fast(input);
  const full = schema.safeParse(input);
  if (quick !== undefined) {
    assert.ok(full.success, `fast path accepted what zod refuses: ${JSON.stringify(input)} (${full.error?.issues[0]?.message})`);
    assert.deepStrictEqual(quick, full.data);
  }
  return quick !== undefined;
}

describe('reading fast paths', () => {
  it('compile from both reading schemas (a schema change that disables them shows here)', () => {
    assert.ok(luminaireReadingFastPath, 'LuminaireReadingSchema uses something compileFastPath does not know');
    assert.ok(apReadingFastPath, 'ApReadingSchema uses something compileFastPath does not know');
  });

  it('never accept a luminaire reading zod refuses, and return exactly what zod returns', () => {
    const fast = luminaireReadingFastPath!;
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(luminaireLike, validLuminaire, mutatedLuminaire), (r) => {
        if (assertAgreesWithZod(fast, LuminaireReadingSchema, asJson(r))) accepted++;
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > RUNS / 10, `only ${accepted} of ${RUNS} inputs took the fast path`);
  });

  it('take every valid luminaire reading (so the common case never pays for zod)', () => {
    fc.assert(
      fc.property(validLuminaire, (r) => {
        const input = asJson(r);
        assert.ok(LuminaireReadingSchema.safeParse(input).success);
        assert.notEqual(luminaireReadingFastPath!(input), undefined, JSON.stringify(input));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never accept an AP reading zod refuses, and return exactly what zod returns', () => {
    const fast = apReadingFastPath!;
    fc.assert(
      fc.property(apLike, (r) => void assertAgreesWithZod(fast, ApReadingSchema, asJson(r))),
      { numRuns: RUNS },
    );
    const valid = {
      device: 'ap-1',
      ts: 1,
      capacityKbps: 10_000,
      uptime: 5,
      clients: { household: 1, telemedicine: 0, public: 2 },
      bytes: { household: 10, telemedicine: 0, public: 20 },
    };
    assert.deepStrictEqual(fast({ ...valid, extra: 1 }), valid);
    const coproduction = {
      v: 1,
      telemedicineSessions: 3,
      telemedicineSessionsActive: 1,
      reserveKbps: 5_000,
      reserveMeasuredS: 5,
      reserveHonouredS: 4,
    };
    assert.deepStrictEqual(fast({ ...valid, coproduction: { ...coproduction, extra: 1 } }), { ...valid, coproduction });
    // An input with no key outside the schema is returned itself (ingest decodes every reading: no
    // copy); one with an unknown key, at any depth, is copied without it and left as it was.
    const exact = { ...valid, coproduction: { ...coproduction } };
    assert.equal(fast(exact), exact);
    const nestedExtra = { ...valid, coproduction: { ...coproduction, extra: 1 } };
    const copied = fast(nestedExtra);
    assert.notEqual(copied, nestedExtra);
    assert.notEqual(copied?.coproduction, nestedExtra.coproduction);
    assert.equal(nestedExtra.coproduction.extra, 1);
  });

  it('agree with zod on objects that are not plain JSON (undefined values, inherited keys)', () => {
    const fast = luminaireReadingFastPath!;
    const base = {
      device: 'l1',
      ts: 1,
      activePower: 1,
      activeEnergy: 1,
      dimLevel: 1,
      voltage: 1,
      current: 1,
      powerFactor: 1,
      operatingHours: 1,
      switchOnCounter: 1,
      status: 'ok',
    };
    assertAgreesWithZod(fast, LuminaireReadingSchema, { ...base, group: undefined });
    assertAgreesWithZod(fast, LuminaireReadingSchema, Object.create(base));
    assert.equal(fast([base]), undefined);
  });

  it('never accept an event zod refuses, and return exactly what zod returns (optional value and detail)', () => {
    const fast = deviceEventFastPath!;
    assert.ok(fast, 'DeviceEventSchema uses something compileFastPath does not know');
    const eventLike = fc.record(
      {
        device: fc.oneof(id, junk),
        ts: fc.oneof(fc.nat(), edgyNumber),
        type: fc.oneof(fc.constantFrom('lampFailure', 'dayBurner', 'tilt', 'LAMPFAILURE'), junk),
        active: fc.oneof(fc.boolean(), junk),
        value: fc.oneof(edgyNumber, junk),
        detail: fc.oneof(fc.string({ maxLength: 510 }), fc.constant('x'.repeat(500)), fc.constant('x'.repeat(501)), junk),
        extra: junk,
      },
      { requiredKeys: [] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(eventLike, (e) => {
        if (assertAgreesWithZod(fast, DeviceEventSchema, asJson(e))) accepted++;
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > 0, 'no generated event took the fast path');
    const valid = { device: 'lum-1', ts: 5, type: 'lampFailure', active: true };
    assert.deepStrictEqual(fast({ ...valid, value: 3, detail: 'x', extra: 1 }), { ...valid, value: 3, detail: 'x' });
    assertAgreesWithZod(fast, DeviceEventSchema, { ...valid, value: undefined });
  });

  it('take batch envelopes as zod does: v 1, seq a safe integer ≥ 0, a bounded array copied', () => {
    const envelopeLike = (field: string) =>
      fc.record(
        {
          v: fc.oneof(fc.constantFrom(1, 2, '1'), junk),
          seq: fc.oneof(fc.nat(), edgyNumber),
          [field]: fc.oneof(fc.array(junk, { maxLength: 4 }), junk),
          extra: junk,
        },
        { requiredKeys: [] },
      );
    for (const [fast, schema, field] of [
      [telemetryEnvelopeFastPath, TelemetryBatchEnvelopeSchema, 'readings'],
      [eventEnvelopeFastPath, EventBatchEnvelopeSchema, 'events'],
    ] as const) {
      assert.ok(fast, `${field} envelope does not compile`);
      let accepted = 0;
      fc.assert(
        fc.property(envelopeLike(field), (env) => {
          if (assertAgreesWithZod(fast as (v: unknown) => unknown, schema as z.ZodType<unknown>, asJson(env))) accepted++;
        }),
        { numRuns: 2_000 },
      );
      assert.ok(accepted > 0, `no generated ${field} envelope took the fast path`);
      const items = [{ a: 1 }, 2];
      const out = (fast as (v: unknown) => Record<string, unknown> | undefined)({ v: 1, seq: 0, [field]: items });
      assert.deepStrictEqual(out, { v: 1, seq: 0, [field]: items });
      assert.notEqual(out?.[field], items, 'the array is a copy, as zod returns');
      assert.equal((fast as (v: unknown) => unknown)({ v: 1, seq: 0, [field]: new Array(5_001).fill(0) }), undefined);
    }
  });

  it('step aside for constructs it does not know instead of guessing', () => {
    assert.equal(compileFastPath(z.object({ a: z.number() }).refine(() => true)), null);
    assert.equal(compileFastPath(z.object({ a: z.union([z.number(), z.string()]) })), null);
    assert.equal(compileFastPath(z.object({ a: z.number() }).strict()), null);
    assert.equal(compileFastPath(z.object({ a: z.number().multipleOf(2) })), null);
    assert.equal(compileFastPath(z.object({ a: z.array(z.number()) })), null);
    const exclusive = compileFastPath(z.object({ a: z.number().gt(0).lt(1) }))!;
    assert.equal(exclusive({ a: 0 }), undefined);
    assert.equal(exclusive({ a: 1 }), undefined);
    assert.deepStrictEqual(exclusive({ a: 0.5 }), { a: 0.5 });
  });
});
