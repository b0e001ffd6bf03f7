// Batches are parsed before their depth scan when they hold few brackets (decode.ts, decodeBatch).
// These tests hold that change to its claim: every answer is the one the scan-first order gives,
// except that a deep value zod would strip anyway (an unknown key) no longer refuses the batch; and
// a payload dense in brackets is refused before JSON.parse ever sees it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeLuminaireBatch, type DecodedBatch } from './decode';
import { checkJsonBounds, jsonBoundExceeded, MAX_JSON_DEPTH, parsesCheaply } from './json-bounds';
import { LuminaireReadingSchema, type LuminaireReading } from './telemetry';

const T0 = 1_700_000_000_000;

function reading(i: number): Record<string, unknown> {
  return {
    device: `lum-${i}`,
    ts: T0 + i,
    activePower: 61.5,
    activeEnergy: 12_345.6 + i,
    dimLevel: 80,
    voltage: 227.1,
    current: 0.28,
    powerFactor: 0.96,
    operatingHours: 1_500.25,
    switchOnCounter: 412,
    status: 'ok',
    group: 'avenida-brasil',
  };
}

/** A JSON text nested `depth` levels deep (arrays), as raw text: JSON.stringify of such a value would itself recurse. */
function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** The answer of the order before: scan the bytes for depth first, then decode. */
function scanFirst(payload: string): DecodedBatch<LuminaireReading> {
  const deep = checkJsonBounds(Buffer.from(payload));
  return deep ? { ok: false, error: deep } : decodeLuminaireBatch(payload);
}

type Where = 'unknown-item-key' | 'known-item-field' | 'unknown-envelope-key' | 'envelope-seq';

/** A batch of `n` readings, some invalid, with a value `depth` deep put `where` (at reading `at`). */
function batch(n: number, invalid: number[], where: Where, at: number, depth: number): string {
  const items = Array.from({ length: n }, (_, i) => {
    const r = reading(i);
    if (invalid.includes(i)) r.dimLevel = 500;
    return JSON.stringify(r);
  });
  const deep = nested(depth);
  const k = n === 0 ? -1 : at % n;
  if (k >= 0 && where === 'unknown-item-key') items[k] = items[k]!.replace(/}$/, `,"extra":${deep}}`);
  if (k >= 0 && where === 'known-item-field') items[k] = items[k]!.replace('"dimLevel":80', `"dimLevel":${deep}`);
  const seq = where === 'envelope-seq' ? deep : '7';
  const extra = where === 'unknown-envelope-key' ? `,"x":${deep}` : '';
  return `{"v":1,"seq":${seq}${extra},"readings":[${items.join(',')}]}`;
}

describe('batches parsed before their depth scan', () => {
  it('answer as the scan-first order does, except a deep value zod strips anyway', () => {
    let stripped = 0;
    let parsedFirst = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 3 }),
        fc.constantFrom<Where>('unknown-item-key', 'known-item-field', 'unknown-envelope-key', 'envelope-seq'),
        fc.nat(),
        fc.integer({ min: 1, max: MAX_JSON_DEPTH + 10 }),
        (n, invalid, where, at, depth) => {
          const payload = batch(n, invalid, where, at, depth);
          if (parsesCheaply(Buffer.from(payload))) parsedFirst++;
          const got = decodeLuminaireBatch(payload);
          const before = scanFirst(payload);
          if (before.ok || jsonBoundExceeded(before.error) !== 'too-deep' || !got.ok) {
            assert.deepEqual(got, before, payload.slice(0, 300));
            return;
          }
          // Refused as too deep before, accepted now: only when the deep value was in an unknown
          // key, and every reading came out as zod returns it (the unknown key stripped).
          stripped++;
          assert.ok(where === 'unknown-item-key' || where === 'unknown-envelope-key', where);
          assert.deepEqual(got.rejected, []);
          assert.equal(got.items.length, n);
          for (const item of got.items) assert.deepEqual(item, LuminaireReadingSchema.parse(item));
          assert.ok(got.items.every((r) => !('extra' in r)));
        },
      ),
      { numRuns: 600 },
    );
    // Both orders and the stripped case were exercised, not only the common one.
    assert.ok(parsedFirst > 50 && parsedFirst < 550, `parsed first in ${parsedFirst} of 600`);
    assert.ok(stripped > 0, 'some deep unknown values were stripped');
  });

  it('a payload dense in brackets is refused as too deep without being parsed', () => {
    const payload = `{"v":1,"seq":0,"readings":[${nested(200_000)}]}`;
    assert.equal(parsesCheaply(Buffer.from(payload)), false);
    const parse = JSON.parse;
    let calls = 0;
    JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      calls++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      const r = decodeLuminaireBatch(payload);
      assert.ok(!r.ok && jsonBoundExceeded(r.error) === 'too-deep', JSON.stringify(r));
    } finally {
      JSON.parse = parse;
    }
    assert.equal(calls, 0, 'JSON.parse never saw it');
  });

  it('a large valid batch is parsed first, and a deep known field in it still refuses the batch', () => {
    const valid = batch(500, [], 'unknown-envelope-key', 0, 1);
    assert.equal(parsesCheaply(Buffer.from(valid)), true);
    const ok = decodeLuminaireBatch(valid);
    assert.ok(ok.ok && ok.items.length === 500 && ok.rejected.length === 0);
    const deep = decodeLuminaireBatch(batch(500, [], 'known-item-field', 123, MAX_JSON_DEPTH + 5));
    assert.ok(!deep.ok && jsonBoundExceeded(deep.error) === 'too-deep', JSON.stringify(deep));
  });
});
