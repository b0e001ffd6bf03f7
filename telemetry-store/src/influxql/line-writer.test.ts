import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { toLineProtocol } from '../line-protocol';
import { linesOf, pointLine } from './line-writer';
import type { InfluxPoint } from './pending-marks';

/** The point with its fields in sorted order: the reference serializer sorts them, the fast one keeps the object's order. */
function fieldsSorted(p: InfluxPoint): InfluxPoint {
  return {
    ...p,
    fields: Object.fromEntries(
      Object.keys(p.fields)
        .sort()
        .map((k) => [k, p.fields[k]!]),
    ),
  };
}

const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '=', '"', '\\', '\n', 'é'), minLength: 1, maxLength: 6 });
const point: fc.Arbitrary<InfluxPoint> = fc
  .record({
    measurement: text,
    tags: fc.dictionary(text, fc.oneof(text, fc.constant(''))),
    fields: fc.dictionary(
      fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), minLength: 1, maxLength: 3 }),
      fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), text),
      {
        minKeys: 1,
      },
    ),
    ts: fc.integer({ min: 0, max: 2 ** 45 }),
    frozen: fc.boolean(),
  })
  .map(({ frozen, ...p }) => (frozen ? { ...p, tags: Object.freeze({ ...p.tags }) } : p));

test('the fast line writer says what the reference line protocol says (fields in any order), frozen tags or not, twice', () => {
  fc.assert(
    fc.property(point, (p) => {
      const expected = toLineProtocol(p);
      // the second time a frozen tags object's prefix comes from the cache
      assert.equal(pointLine(fieldsSorted(p)), expected);
      assert.equal(pointLine(fieldsSorted(p)), expected);
    }),
    { numRuns: 500 },
  );
});

test('a frozen tags object shared by two measurements gets each its own prefix', () => {
  const tags = Object.freeze({ municipality: 'm', gateway: 'g' });
  const a = pointLine({ measurement: 'luminaire', tags, fields: { v: 1 }, ts: 1 });
  const b = pointLine({ measurement: 'ap', tags, fields: { v: 1 }, ts: 1 });
  assert.equal(a, 'luminaire,gateway=g,municipality=m v=1 1');
  assert.equal(b, 'ap,gateway=g,municipality=m v=1 1');
  assert.equal(
    linesOf([
      { measurement: 'x', tags: {}, fields: { s: 'a"b' }, ts: 2 },
      { measurement: 'x', tags, fields: { n: 2 }, ts: 3 },
    ]),
    'x s="a\\"b" 2\nx,gateway=g,municipality=m n=2 3',
  );
  assert.throws(() => pointLine({ measurement: 'x', tags: {}, fields: { n: Number.POSITIVE_INFINITY }, ts: 1 }), /non-finite/);
});
