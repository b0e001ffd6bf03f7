import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SchedulerConfigInput } from './config-schema';
import { DimmingEngine } from './dimming-engine';
import { PerObjectDimming } from './per-object-dimming';
import { nextSunEvent } from './sun';

const SP = { timeZone: 'America/Sao_Paulo', latitude: -23.55, longitude: -46.63 };
const H = 3600_000;

function baseConfig(extra: Partial<SchedulerConfigInput> = {}): SchedulerConfigInput {
  return {
    site: SP,
    programs: [
      {
        id: 'night',
        steps: [
          { kind: 'astro', event: 'sunset', offsetMinutes: 0, level: 100 },
          { kind: 'fixed', time: '23:00', level: 60 },
          { kind: 'fixed', time: '05:00', level: 80 },
          { kind: 'astro', event: 'sunrise', offsetMinutes: 0, level: 0 },
        ],
      },
      {
        id: 'weekend',
        steps: [
          { kind: 'astro', event: 'sunset', level: 100 },
          { kind: 'fixed', time: '23:00', level: 90 },
          { kind: 'astro', event: 'sunrise', level: 0 },
        ],
      },
      {
        id: 'holiday',
        steps: [
          { kind: 'astro', event: 'sunset', level: 100 },
          { kind: 'fixed', time: '23:00', level: 70 },
          { kind: 'astro', event: 'sunrise', level: 0 },
        ],
      },
      {
        id: 'special',
        steps: [
          { kind: 'astro', event: 'sunset', level: 100 },
          { kind: 'fixed', time: '23:00', level: 40 },
          { kind: 'astro', event: 'sunrise', level: 0 },
        ],
      },
    ],
    calendars: [
      {
        id: 'city',
        defaultProgram: 'night',
        rules: [
          { program: 'special', dates: ['2024-12-24'] },
          { program: 'holiday', holiday: true },
          { program: 'weekend', weekdays: [0, 6] },
        ],
      },
    ],
    holidays: ['2024-11-15'],
    groups: [{ id: 'g1', calendar: 'city' }],
    lightingClasses: [{ name: 'M3', minLevel: 30 }],
    ...extra,
  };
}

function engineWith(
  cfg: SchedulerConfigInput,
  lums: { id: string; group?: string; cls?: string; w?: number; hours?: number; prio?: number }[] = [{ id: 'L1' }],
): DimmingEngine {
  const e = new DimmingEngine(4);
  const r = e.applyConfig(cfg);
  assert.deepEqual(r, { ok: true });
  for (const l of lums)
    e.register({
      id: l.id,
      group: l.group ?? 'g1',
      lightingClass: l.cls,
      nominalW: l.w ?? 100,
      operatingHours: l.hours ?? 0,
      priority: l.prio ?? 2,
    });
  return e;
}

/** Level commanded for luminaire `id` after a tick at `t`. */
function levelAfterTick(e: DimmingEngine, t: number, id = 'L1'): number {
  e.tick(t);
  return e.commandedLevel(e.indexOf(id));
}

describe('DimmingEngine program steps', () => {
  it('fixed 23:00 step follows local time across the São Paulo DST start (2018-11-04)', () => {
    const e = engineWith(baseConfig());
    // 2018-11-03 23:00 −03 = 02:00Z (Saturday → weekend program, 90); 2018-11-05 is a Monday.
    assert.equal(levelAfterTick(e, Date.UTC(2018, 10, 4, 1, 59)), 100);
    assert.equal(levelAfterTick(e, Date.UTC(2018, 10, 4, 2, 1)), 90);
    // Monday 2018-11-05 23:00 −02 (DST) = 01:00Z on the 6th
    assert.equal(levelAfterTick(e, Date.UTC(2018, 10, 6, 0, 59)), 100);
    assert.equal(levelAfterTick(e, Date.UTC(2018, 10, 6, 1, 1)), 60);
    // and 05:00 −02 = 07:00Z
    assert.equal(levelAfterTick(e, Date.UTC(2018, 10, 6, 6, 59)), 60);
    assert.equal(levelAfterTick(e, Date.UTC(2018, 10, 6, 7, 1)), 80);
  });

  it('fixed step after the DST end (2019-02-18, −03 again): 23:00 = 02:00Z', () => {
    const e = engineWith(baseConfig());
    assert.equal(levelAfterTick(e, Date.UTC(2019, 1, 19, 1, 59)), 100);
    assert.equal(levelAfterTick(e, Date.UTC(2019, 1, 19, 2, 1)), 60);
  });

  it('astro steps switch at sunset and sunrise', () => {
    const e = engineWith(baseConfig());
    const sunset = nextSunEvent(new Date(Date.UTC(2024, 10, 12, 12)), SP.latitude, SP.longitude, 'sunset').getTime();
    assert.equal(levelAfterTick(e, sunset - 60_000), 0);
    assert.equal(levelAfterTick(e, sunset + 60_000), 100);
    const sunrise = nextSunEvent(new Date(sunset), SP.latitude, SP.longitude, 'sunrise').getTime();
    assert.equal(levelAfterTick(e, sunrise - 60_000), 80);
    assert.equal(levelAfterTick(e, sunrise + 60_000), 0);
  });

  it('astro offsets move the step', () => {
    const cfg = baseConfig();
    cfg.programs = [
      {
        id: 'night',
        steps: [
          { kind: 'astro', event: 'civilDusk', offsetMinutes: -10, level: 100 },
          { kind: 'astro', event: 'sunrise', level: 0 },
        ],
      },
    ];
    cfg.calendars = [{ id: 'city', defaultProgram: 'night', rules: [] }];
    const e = engineWith(cfg);
    const dusk = nextSunEvent(new Date(Date.UTC(2024, 10, 12, 12)), SP.latitude, SP.longitude, 'civilDusk').getTime();
    assert.equal(levelAfterTick(e, dusk - 11 * 60_000), 0);
    assert.equal(levelAfterTick(e, dusk - 9 * 60_000), 100);
  });

  it('calendar rules: dates beat holidays beat weekdays beat the default', () => {
    const e = engineWith(baseConfig());
    const at2330 = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 23 + 3, 30); // 23:30 −03
    assert.equal(levelAfterTick(e, at2330(2024, 11, 13)), 60); // Wednesday
    assert.equal(levelAfterTick(e, at2330(2024, 11, 15)), 70); // holiday (a Friday)
    assert.equal(levelAfterTick(e, at2330(2024, 11, 16)), 90); // Saturday
    assert.equal(levelAfterTick(e, at2330(2024, 12, 24)), 40); // dated rule
  });
});

describe('DimmingEngine dynamic controls', () => {
  const motion = (extra: object = {}) =>
    baseConfig({ dynamicControls: [{ id: 'm', sensors: ['s1'], groups: ['g1'], mode: 'max', level: 100, holdMs: 60_000, ...extra }] });
  const night = Date.UTC(2024, 10, 14, 5); // 02:00 local Thursday: level 60

  it('raises the level while held, returns to the program when the hold time ends', () => {
    const e = engineWith(motion());
    assert.equal(levelAfterTick(e, night), 60);
    assert.equal(e.feedSensorEvent('s1', night + 1000), true);
    const c = e.tick(night + 1000);
    assert.equal(c.count, 1);
    assert.equal(c.level[0], 100);
    assert.equal(e.tick(night + 60_000).count, 0); // still held
    e.feedSensorEvent('s1', night + 50_000); // retrigger extends the hold
    assert.equal(levelAfterTick(e, night + 100_000), 100);
    assert.equal(levelAfterTick(e, night + 110_001), 60);
  });

  it('ramps up and down', () => {
    const e = engineWith(motion({ rampUpMs: 10_000, rampDownMs: 20_000 }));
    levelAfterTick(e, night);
    e.feedSensorEvent('s1', night);
    assert.equal(levelAfterTick(e, night + 5_000), 80);
    assert.equal(levelAfterTick(e, night + 10_000), 100);
    assert.equal(levelAfterTick(e, night + 70_000), 80); // hold ends at +60 s, 10 s into a 20 s ramp-down
    assert.equal(levelAfterTick(e, night + 80_000), 60);
  });

  it('does nothing in daylight (onlyWhenLit) and for unknown sensors', () => {
    const e = engineWith(motion());
    const noon = Date.UTC(2024, 10, 14, 15);
    assert.equal(levelAfterTick(e, noon), 0);
    e.feedSensorEvent('s1', noon);
    assert.equal(e.tick(noon + 1).count, 0);
    assert.equal(e.feedSensorEvent('nope', noon), false);
  });

  it('add and min modes', () => {
    const add = engineWith(motion({ mode: 'add', level: 15 }));
    levelAfterTick(add, night);
    add.feedSensorEvent('s1', night);
    assert.equal(levelAfterTick(add, night + 1), 75);
    const min = engineWith(motion({ mode: 'min', level: 20 }));
    levelAfterTick(min, night);
    min.feedSensorEvent('s1', night);
    assert.equal(levelAfterTick(min, night + 1), 20);
  });
});

describe('DimmingEngine overrides', () => {
  const night = Date.UTC(2024, 10, 14, 5);
  it('group override holds until expiry, then the program returns', () => {
    const e = engineWith(
      baseConfig({ overrides: [{ id: 'o1', group: 'g1', level: 20, startMs: night, expiresMs: night + H, issuedAtMs: night }] }),
    );
    assert.equal(levelAfterTick(e, night - 1), 60);
    assert.equal(levelAfterTick(e, night), 20);
    assert.equal(levelAfterTick(e, night + H - 1), 20);
    assert.equal(levelAfterTick(e, night + H), 60);
  });
  it('newest wins, across group and luminaire overrides', () => {
    const e = engineWith(baseConfig(), [{ id: 'L1' }, { id: 'L2' }]);
    assert.equal(e.addOverride({ id: 'a', group: 'g1', level: 20, startMs: night, expiresMs: night + H, issuedAtMs: 2 }).ok, true);
    assert.equal(e.addOverride({ id: 'b', group: 'g1', level: 30, startMs: night, expiresMs: night + H, issuedAtMs: 1 }).ok, true);
    assert.equal(e.addOverride({ id: 'c', luminaire: 'L2', level: 95, startMs: night, expiresMs: night + H / 2, issuedAtMs: 3 }).ok, true);
    e.tick(night);
    assert.equal(e.commandedLevel(e.indexOf('L1')), 20);
    assert.equal(e.commandedLevel(e.indexOf('L2')), 95);
    e.tick(night + H / 2);
    assert.equal(e.commandedLevel(e.indexOf('L2')), 20);
    assert.equal(e.removeOverride('a'), true);
    e.tick(night + H / 2 + 1);
    assert.equal(e.commandedLevel(e.indexOf('L1')), 30);
  });
  it('a malformed override is refused with its path', () => {
    const e = engineWith(baseConfig());
    const r = e.addOverride({ id: 'x', group: 'g1', level: 150, startMs: 0, expiresMs: 10, issuedAtMs: 0 });
    assert.deepEqual(r.ok ? null : r.error.path, 'override.level');
  });
});

describe('DimmingEngine CLO, class minimum, power cap, hysteresis', () => {
  const evening = Date.UTC(2024, 10, 14, 0, 30); // 21:30 local: program 100
  const clo = {
    curve: [
      { hours: 0, maintenance: 1 },
      { hours: 100_000, maintenance: 0.7 },
    ],
    maintenanceFactor: 0.8,
  };

  it('constant light output: new lamps run at the maintenance factor, old ones higher, capped at 100', () => {
    const e = engineWith(baseConfig({ clo }), [
      { id: 'new', hours: 0 },
      { id: 'mid', hours: 50_000 },
      { id: 'old', hours: 100_000 },
    ]);
    e.tick(evening);
    assert.ok(Math.abs(e.commandedLevel(e.indexOf('new')) - 80) < 1e-3);
    assert.ok(Math.abs(e.commandedLevel(e.indexOf('mid')) - (100 * 0.8) / 0.85) < 1e-3);
    assert.equal(e.commandedLevel(e.indexOf('old')), 100);
  });

  it('class minimum applies when lit, not when off', () => {
    const cfg = baseConfig();
    cfg.programs = [
      {
        id: 'night',
        steps: [
          { kind: 'fixed', time: '18:00', level: 10 },
          { kind: 'fixed', time: '06:00', level: 0 },
        ],
      },
    ];
    cfg.calendars = [{ id: 'city', defaultProgram: 'night', rules: [] }];
    const e = engineWith(cfg, [{ id: 'L1', cls: 'M3' }, { id: 'L2' }]);
    e.tick(evening);
    assert.equal(e.commandedLevel(0), 30);
    assert.equal(e.commandedLevel(1), 10);
    e.tick(Date.UTC(2024, 10, 14, 12));
    assert.equal(e.commandedLevel(0), 0);
  });

  it('group power cap sheds the lowest priority first and keeps crossings full', () => {
    const cfg = baseConfig({ groups: [{ id: 'g1', calendar: 'city', powerCapW: 250 }] });
    const e = engineWith(cfg, [
      { id: 'crossing', prio: 0, cls: 'M3' },
      { id: 'a', prio: 2, cls: 'M3' },
      { id: 'b', prio: 2, cls: 'M3' },
      { id: 'alley', prio: 3, cls: 'M3' },
    ]);
    e.applyConfig({ ...cfg, lightingClasses: [{ name: 'M3', minLevel: 20 }] });
    e.tick(evening);
    const lv = (id: string) => e.commandedLevel(e.indexOf(id));
    assert.equal(lv('crossing'), 100);
    assert.ok(Math.abs(lv('alley') - 20) < 1e-4, `alley ${lv('alley')}`);
    assert.ok(Math.abs(lv('a') - 65) < 1e-4, `a ${lv('a')}`);
    assert.ok(Math.abs(lv('crossing') + lv('a') + lv('b') + lv('alley') - 250) < 1e-3);
    // a new config without the cap lifts it
    e.applyConfig({ ...cfg, groups: [{ id: 'g1', calendar: 'city' }] });
    e.tick(evening + 1000);
    assert.equal(lv('alley'), 100);
  });

  it('hysteresis: no command for changes under the threshold, a command once it accumulates', () => {
    const e = engineWith(baseConfig({ clo }), [{ id: 'L1', hours: 0 }]);
    assert.equal(e.tick(evening).count, 1);
    e.setOperatingHours('L1', 1000); // +0.3 % output needed: below 1 %
    assert.equal(e.tick(evening + 1000).count, 0);
    e.setOperatingHours('L1', 5000); // +1.5 %
    assert.equal(e.tick(evening + 2000).count, 1);
  });
});

describe('DimmingEngine bad config', () => {
  it('refuses a malformed program with the path and keeps the program in force', () => {
    const e = engineWith(baseConfig());
    const night = Date.UTC(2024, 10, 14, 1, 30); // 22:30 local: 100, then 60 at 23:00
    assert.equal(levelAfterTick(e, night), 100);
    const bad = baseConfig();
    bad.programs = [
      {
        id: 'night',
        steps: [
          { kind: 'fixed', time: '18:00', level: 100 },
          { kind: 'fixed', time: '22:00', level: -5 },
        ],
      },
    ];
    const r = e.applyConfig(bad);
    assert.deepEqual(r.ok ? null : r.error.path, 'programs[0].steps[1].level');
    assert.equal(levelAfterTick(e, night + H), 60); // the old program's 23:00 step still happens
    const r2 = e.applyConfig({ ...baseConfig(), calendars: [{ id: 'city', defaultProgram: 'nope', rules: [] }] });
    assert.deepEqual(r2.ok ? null : r2.error.path, 'calendars[0].defaultProgram');
    const r3 = e.applyConfig({ ...baseConfig(), site: { ...SP, timeZone: 'Nowhere/Land' } });
    assert.deepEqual(r3.ok ? null : r3.error.path, 'site.timeZone');
  });
  it('unknown group: no commands (devices keep their own program)', () => {
    const e = engineWith(baseConfig(), [{ id: 'L1', group: 'unconfigured' }]);
    assert.equal(e.tick(Date.UTC(2024, 10, 14, 5)).count, 0);
  });
});

describe('DimmingEngine agrees with the per-object reference', () => {
  it('same commands over two days of ticks, many luminaires', () => {
    const cfg = baseConfig({
      groups: [
        { id: 'g1', calendar: 'city' },
        { id: 'g2', calendar: 'city', latitude: -1.45, longitude: -48.5 },
      ],
      clo: {
        curve: [
          { hours: 0, maintenance: 1 },
          { hours: 60_000, maintenance: 0.8 },
        ],
        maintenanceFactor: 0.85,
      },
      overrides: [
        { id: 'o', group: 'g2', level: 33, startMs: Date.UTC(2024, 10, 14, 2), expiresMs: Date.UTC(2024, 10, 14, 4), issuedAtMs: 0 },
      ],
    });
    const e = new DimmingEngine(8);
    const ref = new PerObjectDimming();
    assert.equal(e.applyConfig(cfg).ok, true);
    assert.equal(ref.applyConfig(cfg), true);
    for (let i = 0; i < 300; i++) {
      const spec = {
        id: `L${i}`,
        group: i % 3 === 0 ? 'g2' : 'g1',
        lightingClass: i % 5 === 0 ? 'M3' : undefined,
        nominalW: 50 + (i % 7) * 10,
        operatingHours: (i * 997) % 70_000,
      };
      e.register(spec);
      ref.register(spec);
    }
    let commands = 0;
    for (let t = Date.UTC(2024, 10, 13, 12); t < Date.UTC(2024, 10, 15, 12); t += 7 * 60_000) {
      const c = e.tick(t);
      const mine = Array.from({ length: c.count }, (_, k) => `${e.idOf(c.index[k] ?? -1)}=${c.level[k]}`);
      const theirs = ref.tick(t).map((x) => `${x.id}=${x.level}`);
      assert.deepEqual(mine, theirs, new Date(t).toISOString());
      commands += c.count;
    }
    assert.ok(commands > 1000);
  });
});

describe('DimmingEngine sensor fast path', () => {
  it('tickSensorZones evaluates only the fired zones and agrees with a full tick', () => {
    const cfg = baseConfig({
      groups: [
        { id: 'g1', calendar: 'city' },
        { id: 'g2', calendar: 'city', powerCapW: 150 },
      ],
      dynamicControls: [{ id: 'm', sensors: ['s2'], groups: ['g2'], mode: 'set', level: 100, holdMs: 60_000 }],
    });
    const lums = [{ id: 'a' }, { id: 'b', group: 'g2' }, { id: 'c', group: 'g2', prio: 3 }, { id: 'd' }];
    const fast = engineWith(cfg, lums);
    const full = engineWith(cfg, lums);
    const night = Date.UTC(2024, 10, 14, 5);
    fast.tick(night);
    full.tick(night);
    assert.equal(fast.tickSensorZones(night + 1).count, 0); // nothing fired
    fast.feedSensorEvent('s2', night + 10);
    full.feedSensorEvent('s2', night + 10);
    const c = fast.tickSensorZones(night + 10);
    const ids = Array.from(c.index, (i) => fast.idOf(i)).sort();
    assert.deepEqual(ids, ['b', 'c']);
    full.tick(night + 10);
    for (const l of lums) assert.equal(fast.commandedLevel(fast.indexOf(l.id)), full.commandedLevel(full.indexOf(l.id)), l.id);
    assert.equal(fast.commandedLevel(fast.indexOf('b')), 100); // cap 150 W: the prio-3 lamp sheds
    assert.equal(fast.commandedLevel(fast.indexOf('c')), 50);
    assert.equal(fast.tick(night + 20).count, 0); // the full tick that follows has nothing new to send
  });
});
