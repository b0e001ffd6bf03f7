import type { SchedulerConfigInput } from '@poste/agent/scheduler';
import { LUMINAIRE_MODELS, type GeneratedCity } from '@poste/simulators';

/**
 * The city's dimming programs, TALQ-shaped: on a little before sunset, full light while streets
 * are busy, dimmed in the small hours, off a little after sunrise. Arterial roads keep more light
 * than residential streets and keep full light on holidays (Brazilian national holidays of 2024).
 * Bump CITY_PROGRAM_VERSION whenever the programs change: agents ignore desired configs whose
 * version is not newer than the one they applied.
 */
export const CITY_PROGRAM_VERSION = 1;

const HOLIDAYS_2024 = [
  '2024-01-01',
  '2024-02-12',
  '2024-02-13',
  '2024-03-29',
  '2024-04-21',
  '2024-05-01',
  '2024-05-30',
  '2024-09-07',
  '2024-10-12',
  '2024-11-02',
  '2024-11-15',
  '2024-11-20',
  '2024-12-25',
];

const PROGRAMS: SchedulerConfigInput['programs'] = [
  {
    id: 'arterial-night',
    steps: [
      { kind: 'astro', event: 'sunset', offsetMinutes: -10, level: 100 },
      { kind: 'fixed', time: '23:00', level: 80 },
      { kind: 'fixed', time: '01:00', level: 60 },
      { kind: 'fixed', time: '05:00', level: 80 },
      { kind: 'astro', event: 'sunrise', offsetMinutes: 10, level: 0 },
    ],
  },
  {
    id: 'residential-night',
    steps: [
      { kind: 'astro', event: 'sunset', offsetMinutes: -10, level: 90 },
      { kind: 'fixed', time: '22:00', level: 70 },
      { kind: 'fixed', time: '00:00', level: 50 },
      { kind: 'fixed', time: '05:00', level: 70 },
      { kind: 'astro', event: 'sunrise', offsetMinutes: 10, level: 0 },
    ],
  },
  {
    id: 'festive-night',
    steps: [
      { kind: 'astro', event: 'sunset', offsetMinutes: -10, level: 100 },
      { kind: 'astro', event: 'sunrise', offsetMinutes: 10, level: 0 },
    ],
  },
];

function roadClassOf(city: GeneratedCity, group: string): 'arterial' | 'residential' {
  const lum = city.luminaires.find((l) => l.group === group);
  const model = LUMINAIRE_MODELS.find((m) => m.model === lum?.model);
  return model?.roadClass ?? 'residential';
}

/** The `scheduler` section of each gateway's desired config. */
export function dimmingConfigFor(city: GeneratedCity, gatewayId: string): SchedulerConfigInput {
  const gw = city.gateways.find((g) => g.id === gatewayId);
  const mun = city.municipalities.find((m) => m.id === gw?.municipality);
  if (!gw || !mun) throw new Error(`dimmingConfigFor: unknown gateway ${gatewayId}`);
  return {
    site: { timeZone: mun.timeZone, latitude: mun.lat, longitude: mun.lon },
    lightingClasses: [
      { name: 'M3', minLevel: 40 },
      { name: 'P4', minLevel: 20 },
    ],
    holidays: HOLIDAYS_2024,
    programs: PROGRAMS,
    calendars: [
      { id: 'arterial', defaultProgram: 'arterial-night', rules: [{ program: 'festive-night', holiday: true }] },
      { id: 'residential', defaultProgram: 'residential-night', rules: [] },
    ],
    groups: gw.groups.map((id) => ({ id, calendar: roadClassOf(city, id) })),
    hysteresisPercent: 1,
  };
}
