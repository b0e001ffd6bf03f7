import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimClock } from './sim-clock';

describe('SimClock', () => {
  it('manual mode moves only on advance', () => {
    const c = SimClock.manual(new Date('2024-06-01T20:00:00Z'));
    const t0 = c.now();
    assert.equal(c.now(), t0);
    c.advance(90_000);
    assert.equal(c.now(), t0 + 90_000);
  });

  it('accelerated mode scales real elapsed time by speed', () => {
    let real = 1_000;
    const c = new SimClock({ mode: 'accelerated', start: 0, speed: 3600, realNow: () => real });
    assert.equal(c.now(), 0);
    real += 1_000;
    assert.equal(c.now(), 3_600_000);
    assert.throws(() => c.advance(1));
  });
});
