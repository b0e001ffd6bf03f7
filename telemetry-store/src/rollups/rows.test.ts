import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Point } from '../types';
import { seriesId, seriesKeyOfPoint } from './rows';

test('a series key is the same for shared (frozen) and unshared tags, and never mixes measurements', () => {
  const tags = { municipality: 'm', gateway: 'g', luminaire: 'l', ap: 'l', group: 'x' };
  const frozen = Object.freeze({ ...tags });
  const lum = (t: Record<string, string>): Point => ({ measurement: 'luminaire', tags: t, fields: {}, ts: 1 });
  const ap = (t: Record<string, string>): Point => ({ measurement: 'ap', tags: t, fields: {}, ts: 1 });
  const expected = `luminaire|${seriesId(lum(tags))}`;
  assert.equal(seriesKeyOfPoint(lum(tags)), expected);
  assert.equal(seriesKeyOfPoint(lum(frozen)), expected);
  assert.equal(seriesKeyOfPoint(lum(frozen)), expected, 'from the cache');
  assert.equal(seriesKeyOfPoint(ap(frozen)), `ap|${seriesId(ap(tags))}`, 'the same tags object under another measurement');
  assert.equal(seriesKeyOfPoint(lum(frozen)), expected);
});
