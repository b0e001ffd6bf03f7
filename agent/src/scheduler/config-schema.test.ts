import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatPath, parseOverride, parseSchedulerConfig } from './config-schema';

const valid = {
  site: { timeZone: 'America/Belem', latitude: -1.45, longitude: -48.5 },
  programs: [
    {
      id: 'p',
      steps: [
        { kind: 'astro', event: 'sunset', level: 100 },
        { kind: 'astro', event: 'sunrise', level: 0 },
      ],
    },
  ],
  calendars: [{ id: 'c', defaultProgram: 'p', rules: [{ program: 'p', weekdays: [0] }] }],
  groups: [{ id: 'g', calendar: 'c', powerCapW: 1000 }],
  dynamicControls: [{ id: 'd', sensors: ['s'], groups: ['g'], mode: 'max', level: 100, holdMs: 1000 }],
};

function pathOf(input: unknown): string | null {
  const r = parseSchedulerConfig(input);
  return r.ok ? null : r.error.path;
}

describe('scheduler config validation', () => {
  it('accepts a valid config and fills defaults', () => {
    const r = parseSchedulerConfig(valid);
    assert.equal(r.ok, true);
    if (r.ok) {
      assert.equal(r.value.hysteresisPercent, 1);
      assert.equal(r.value.dynamicControls[0]?.onlyWhenLit, true);
    }
  });
  it('names the path of the first error', () => {
    assert.equal(
      pathOf({ ...valid, programs: [{ id: 'p', steps: [{ kind: 'fixed', time: '25:00', level: 1 }] }] }),
      'programs[0].steps[0].time',
    );
    assert.equal(pathOf({ ...valid, programs: [{ id: 'p', steps: [] }] }), 'programs[0].steps');
    assert.equal(pathOf({ ...valid, programs: [{ id: 'p', steps: [{ kind: 'moon', level: 1 }] }] }), 'programs[0].steps[0].kind');
    assert.equal(
      pathOf({ ...valid, dynamicControls: [{ ...valid.dynamicControls[0], groups: ['nope'] }] }),
      'dynamicControls[0].groups[0]',
    );
    assert.equal(
      pathOf({
        ...valid,
        groups: [
          { id: 'g', calendar: 'c' },
          { id: 'g', calendar: 'c' },
        ],
      }),
      'groups[1].id',
    );
    assert.equal(
      pathOf({ ...valid, calendars: [{ id: 'c', defaultProgram: 'p', rules: [{ program: 'p', from: '2024-05-01', to: '2024-04-01' }] }] }),
      'calendars[0].rules[0].to',
    );
    assert.equal(pathOf(null), '(root)');
  });
  it('overrides: exactly one target, expiry after start', () => {
    const base = { id: 'o', level: 10, startMs: 10, expiresMs: 20, issuedAtMs: 0 };
    assert.equal(parseOverride({ ...base, group: 'g' }).ok, true);
    const both = parseOverride({ ...base, group: 'g', luminaire: 'l' });
    assert.equal(both.ok ? null : both.error.path, 'override');
    const back = parseOverride({ ...base, group: 'g', expiresMs: 5 });
    assert.equal(back.ok ? null : back.error.path, 'override.expiresMs');
  });
  it('formatPath', () => {
    assert.equal(formatPath(['programs', 2, 'steps', 0, 'level']), 'programs[2].steps[0].level');
  });
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        parseSchedulerConfig(x);
        parseOverride(x);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom('programs', 'calendars', 'groups', 'site', 'dynamicControls', 'overrides', 'clo'),
        (v, key) => {
          const r = parseSchedulerConfig({ ...valid, [key]: v });
          if (!r.ok) assert.ok(r.error.path.length > 0 && r.error.reason.length > 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
