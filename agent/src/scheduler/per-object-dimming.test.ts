// The per-object baseline must issue exactly the engine's commands (it is the benchmark's baseline and
// a test oracle), including the cases where the two could drift: overlapping group overrides, an
// unconfigured group, a re-registered luminaire, a config change mid-night, classes and CLO.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SchedulerConfigInput } from './config-schema';
import { DimmingEngine } from './dimming-engine';
import { PerObjectDimming } from './per-object-dimming';

const H = 3600_000;
const T0 = Date.UTC(2024, 10, 13, 18); // 15:00 in São Paulo, before sunset

function config(maintenanceFactor: number): SchedulerConfigInput {
  return {
    site: { timeZone: 'America/Sao_Paulo', latitude: -23.55, longitude: -46.63 },
    programs: [
      {
        id: 'night',
        steps: [
          { kind: 'astro', event: 'sunset', offsetMinutes: -5, level: 100 },
          { kind: 'fixed', time: '22:00', level: 73 },
          { kind: 'fixed', time: '01:30', level: 41 },
          { kind: 'astro', event: 'sunrise', offsetMinutes: 5, level: 0 },
        ],
      },
    ],
    calendars: [{ id: 'city', defaultProgram: 'night', rules: [] }],
    groups: [
      { id: 'centre', calendar: 'city' },
      { id: 'coast', calendar: 'city', latitude: -23.96, longitude: -46.33 },
      { id: 'west', calendar: 'city', latitude: -22.9, longitude: -47.06 },
    ],
    lightingClasses: [
      { name: 'M3', minLevel: 30 },
      { name: 'C2', minLevel: 55 },
    ],
    hysteresisPercent: 2,
    overrides: [
      { id: 'works', group: 'coast', level: 20, startMs: T0 + 6 * H, expiresMs: T0 + 9 * H, issuedAtMs: 10 },
      // same issue time, later in the list: wins while both run (the engine's tie rule)
      { id: 'event', group: 'coast', level: 95, startMs: T0 + 7 * H, expiresMs: T0 + 8 * H, issuedAtMs: 10 },
      { id: 'older', group: 'centre', level: 5, startMs: T0 + 5 * H, expiresMs: T0 + 6 * H, issuedAtMs: 1 },
    ],
    clo: {
      curve: [
        { hours: 0, maintenance: 1 },
        { hours: 40_000, maintenance: 0.9 },
        { hours: 90_000, maintenance: 0.72 },
      ],
      maintenanceFactor,
    },
  };
}

const GROUPS = ['centre', 'coast', 'west', 'unconfigured'];
const CLASSES = ['M3', 'C2', undefined];

function commands(e: DimmingEngine, t: number): string[] {
  const c = e.tick(t);
  return Array.from({ length: c.count }, (_, k) => `${e.idOf(c.index[k] ?? -1)}=${c.level[k]}`);
}

describe('PerObjectDimming issues the engine commands', () => {
  it('every tick of a night, with overrides, classes, CLO, re-registration and a config change', () => {
    const engine = new DimmingEngine(16);
    const perObject = new PerObjectDimming();
    assert.deepEqual(engine.applyConfig(config(0.8)), { ok: true });
    assert.equal(perObject.applyConfig(config(0.8)), true);
    const register = (i: number, hours: number) => {
      const spec = {
        id: `L${i}`,
        group: GROUPS[i % GROUPS.length] as string,
        lightingClass: CLASSES[i % CLASSES.length],
        nominalW: 80,
        operatingHours: hours,
      };
      engine.register(spec);
      perObject.register(spec);
    };
    for (let i = 0; i < 400; i++) register(i, (i * 7919) % 100_000);
    let total = 0;
    let unconfiguredCommanded = false;
    for (let t = T0; t < T0 + 16 * H; t += 5 * 60_000) {
      if (t === T0 + 4 * H) for (let i = 0; i < 400; i += 9) register(i, 95_000); // lamps re-registered with new hours
      if (t === T0 + 10 * H) {
        assert.deepEqual(engine.applyConfig(config(0.7)), { ok: true });
        assert.equal(perObject.applyConfig(config(0.7)), true);
      }
      const mine = commands(engine, t);
      const theirs = perObject.tick(t).map((x) => `${x.id}=${x.level}`);
      assert.deepEqual(theirs, mine, new Date(t).toISOString());
      total += mine.length;
      if (mine.some((m) => Number(m.slice(1, m.indexOf('='))) % GROUPS.length === 3)) unconfiguredCommanded = true;
    }
    assert.ok(total > 1500, `only ${total} commands: the night did not exercise the policy`);
    assert.equal(unconfiguredCommanded, false, 'a luminaire of an unconfigured group was commanded');
  });

  it('an invalid config is refused and the previous one stays in force', () => {
    const perObject = new PerObjectDimming();
    assert.equal(perObject.applyConfig(config(0.8)), true);
    perObject.register({ id: 'a', group: 'centre', nominalW: 50 });
    assert.equal(perObject.applyConfig({ ...config(0.8), hysteresisPercent: -1 }), false);
    const night = T0 + 3 * H;
    assert.deepEqual(
      perObject.tick(night).map((c) => c.id),
      ['a'],
    );
  });
});
