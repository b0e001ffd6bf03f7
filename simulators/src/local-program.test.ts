import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LuminaireController, fallbackProgram, programLevelAt } from './local-program';

// Brasília time, UTC−3: local hh:mm on 2024-06-01 is UTC hh+3.
const p = fallbackProgram(-180);
const local = (h: number, m = 0): number => Date.UTC(2024, 5, 1, h + 3, m);

describe('fallback program', () => {
  it('on at dusk, dimmed after midnight, off at dawn (local time)', () => {
    assert.equal(programLevelAt(p, local(12)), 0);
    assert.equal(programLevelAt(p, local(17, 59)), 0);
    assert.equal(programLevelAt(p, local(18)), 100);
    assert.equal(programLevelAt(p, local(23, 59)), 100);
    assert.equal(programLevelAt(p, local(24, 1)), 50);
    assert.equal(programLevelAt(p, local(29, 59)), 50);
    assert.equal(programLevelAt(p, local(30)), 0);
  });

  it('a dim override holds until its expiry, then the program resumes', () => {
    const c = new LuminaireController(p);
    c.setOverride(30, local(20));
    assert.equal(c.levelAt(local(19)), 30);
    assert.equal(c.levelAt(local(20)), 100);
    assert.equal(c.overrideAt(local(20)), undefined);
  });

  it('an override without expiry lasts until cleared', () => {
    const c = new LuminaireController(p);
    c.setOverride(0, undefined);
    assert.equal(c.levelAt(local(22)), 0);
    assert.equal(c.levelAt(local(26)), 0);
    c.clearOverride();
    assert.equal(c.levelAt(local(26)), 50);
  });
});
