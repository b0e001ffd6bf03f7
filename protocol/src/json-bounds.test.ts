import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { checkJsonBounds } from './json-bounds';

/** Nesting depth of a parsed JSON value, the definition checkJsonBounds answers for the raw bytes. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (typeof v === 'object' && v !== null) return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

it('checkJsonBounds refuses exactly the payloads nested deeper than the limit (shortcut and byte scan agree)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 8 }), (value, maxDepth) => {
      const bytes = Buffer.from(JSON.stringify(value));
      const refused = checkJsonBounds(bytes, { maxDepth }) !== null;
      assert.equal(refused, depthOf(value) > maxDepth, `${bytes.toString()} with maxDepth ${maxDepth}`);
      // A plain Uint8Array (not a Buffer) takes the same path.
      assert.equal(checkJsonBounds(new Uint8Array(bytes), { maxDepth }) !== null, refused);
    }),
    { numRuns: 10_000 },
  );
});
