// A synthetic city for scheduler benchmarks: groups of ~50 luminaires on one calendar, 10 % of groups
// power-capped, motion sensors on 1 % of groups, a handful of overrides. Deterministic.
import type { SchedulerConfigInput } from '@poste/agent/scheduler';
import type { LuminaireSpec } from '@poste/agent/scheduler';
import { mulberry32 } from './bench-kit';

export const CITY_SITE = { timeZone: 'America/Belem', latitude: -1.456, longitude: -48.5 };
/** A November night in Belém, 19:00 local; ticks then walk forward one minute at a time. */
export const CITY_T0 = Date.UTC(2024, 10, 13, 22, 0);

export function cityConfig(groupCount: number, withDynamics = true): SchedulerConfigInput {
  const groups = Array.from({ length: groupCount }, (_, g) => ({
    id: `g${g}`,
    calendar: 'city',
    ...(withDynamics && g % 10 === 0 ? { powerCapW: 50 * 150 * 0.9 } : {}),
  }));
  return {
    site: CITY_SITE,
    programs: [
      {
        id: 'night',
        steps: [
          { kind: 'astro', event: 'sunset', offsetMinutes: -10, level: 100 },
          { kind: 'fixed', time: '19:05', level: 90 },
          { kind: 'fixed', time: '23:00', level: 60 },
          { kind: 'fixed', time: '05:00', level: 80 },
          { kind: 'astro', event: 'sunrise', offsetMinutes: 10, level: 0 },
        ],
      },
    ],
    calendars: [{ id: 'city', defaultProgram: 'night', rules: [{ program: 'night', weekdays: [0, 6] }] }],
    lightingClasses: [
      { name: 'M3', minLevel: 30 },
      { name: 'M5', minLevel: 15 },
      { name: 'C2', minLevel: 50 },
    ],
    groups,
    dynamicControls: withDynamics
      ? Array.from({ length: Math.ceil(groupCount / 100) }, (_, k) => ({
          id: `motion${k}`,
          sensors: [`s${k}`],
          groups: [`g${k * 100}`],
          mode: 'max' as const,
          level: 100,
          holdMs: 60_000,
          rampUpMs: 2_000,
          rampDownMs: 10_000,
        }))
      : [],
    overrides: withDynamics
      ? [{ id: 'maint', group: 'g7', level: 0, startMs: CITY_T0, expiresMs: CITY_T0 + 3600_000, issuedAtMs: CITY_T0 }]
      : [],
    clo: {
      curve: [
        { hours: 0, maintenance: 1 },
        { hours: 50_000, maintenance: 0.85 },
        { hours: 100_000, maintenance: 0.7 },
      ],
      maintenanceFactor: 0.8,
    },
  };
}

export function* cityLuminaires(n: number, groupSize = 50): Generator<LuminaireSpec> {
  const rnd = mulberry32(42);
  const classes = ['M3', 'M5', 'C2'];
  for (let i = 0; i < n; i++) {
    yield {
      id: `lum-${i}`,
      group: `g${Math.floor(i / groupSize)}`,
      lightingClass: classes[i % 3],
      nominalW: 60 + Math.floor(rnd() * 120),
      operatingHours: Math.floor(rnd() * 80_000),
      priority: i % 25 === 0 ? 0 : 1 + (i % 3),
    };
  }
}
