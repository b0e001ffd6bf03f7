import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Point } from '../types';
import { PointIndex, pointSeriesKey, SeriesPoints, seriesKeyOf } from './point-index';

const lum = (luminaire: string, ts: number, activeEnergy = 1, gateway = 'g'): Point => ({
  measurement: 'luminaire',
  tags: { municipality: 'm', gateway, luminaire, group: 'g1' },
  fields: { activeEnergy },
  ts,
});

test('a series keeps its points in ts order whatever the arrival order, one per ts (the last stands)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer()), { maxLength: 60 }), (writes) => {
      const s = new SeriesPoints();
      const expected = new Map<number, number>();
      for (const [ts, v] of writes) {
        assert.equal(s.put(lum('a', ts, v)), !expected.has(ts));
        expected.set(ts, v);
      }
      const sorted = [...expected.keys()].sort((a, b) => a - b);
      assert.deepEqual(s.ts, sorted);
      assert.deepEqual(
        s.points.map((p) => p.fields.activeEnergy),
        sorted.map((ts) => expected.get(ts)),
      );
      for (let ts = -1; ts <= 51; ts++) assert.equal(s.get(ts)?.fields.activeEnergy, expected.get(ts));
      assert.deepEqual(
        s.range(10, 20).map((p) => p.ts),
        sorted.filter((ts) => ts >= 10 && ts < 20),
      );
      assert.equal(s.countRange(10, 20), sorted.filter((ts) => ts >= 10 && ts < 20).length);
      assert.equal(s.countRange(20, 10), 0);
    }),
  );
});

test('the index finds a point by identity, counts, and selects by measurement, range and series', () => {
  const idx = new PointIndex();
  idx.put(lum('a', 2));
  idx.put(lum('a', 1));
  idx.put(lum('b', 1, 5, 'other'));
  idx.put(lum('a', 2, 9));
  idx.put({ measurement: 'ap', tags: { municipality: 'm', gateway: 'g', ap: 'x' }, fields: { uptime: 1 }, ts: 1 });
  assert.equal(idx.size, 4, 'an overwrite is not a new point');
  assert.equal(idx.get(lum('a', 2))?.fields.activeEnergy, 9);
  assert.equal(idx.get(lum('a', 3)), undefined);
  assert.equal(idx.count('luminaire', 0, 10), 3);
  assert.equal(idx.count('ap', 0, 10), 1);
  assert.deepEqual(
    idx.select('luminaire', 0, 10, (p) => p.tags.gateway === 'g').map((p) => p.ts),
    [1, 2],
  );
  assert.deepEqual(
    idx.seriesRange('luminaire', ['m', 'g', 'a'], 2, 3).map((p) => p.fields.activeEnergy),
    [9],
  );
  assert.deepEqual(idx.seriesRange('luminaire', ['m', 'g', 'zzz'], 0, 10), []);
  idx.clear();
  assert.equal(idx.size, 0);
  assert.equal(idx.count('luminaire', 0, 10), 0);
});

test('series keys cannot collide, even with tag values holding the separator', () => {
  const a = seriesKeyOf('luminaire', ['m', 'g\u0000x', 'l']);
  const b = seriesKeyOf('luminaire', ['m', 'g', 'x\u0000l']);
  assert.notEqual(a, b);
  assert.notEqual(seriesKeyOf('luminaire', ['m', 'g', 'l']), seriesKeyOf('ap', ['m', 'g', 'l']));
  const odd = lum('x\u0000l', 1);
  assert.equal(pointSeriesKey(odd), seriesKeyOf('luminaire', ['m', 'g', 'x\u0000l']));
  const idx = new PointIndex();
  idx.put({ ...odd, tags: { ...odd.tags, gateway: 'g\u0000x', luminaire: 'l' } });
  assert.equal(idx.get(odd), undefined);
});

test('a point with shared (frozen) tags is the same series as one with its own copy of them', () => {
  const frozen = Object.freeze({ municipality: 'm', gateway: 'g', luminaire: 'a', group: 'g1' });
  const idx = new PointIndex();
  idx.put({ ...lum('a', 1, 3), tags: frozen });
  assert.equal(pointSeriesKey({ ...lum('a', 1), tags: frozen }), pointSeriesKey(lum('a', 1)));
  assert.equal(idx.get(lum('a', 1))?.fields.activeEnergy, 3);
  idx.put(lum('a', 1, 4));
  assert.equal(idx.size, 1);
  assert.equal(idx.get({ ...lum('a', 1), tags: frozen })?.fields.activeEnergy, 4);
});
