import { generateCity, type GeneratedCity } from '@poste/simulators';

/** The one gateway every fault scenario runs: its agent, its broker credentials, its devices. */
export const GATEWAY = 'cps-fault';
export const MUNICIPALITY = 'campinas';
export const GROUPS = [`${GATEWAY}-arterial`, `${GATEWAY}-residential`] as const;

/** 17:00 in São Paulo: the night starts, luminaires light up, so energy flows from the first hour. */
export const SIM_START = '2024-06-03T20:00:00Z';
export const REPORT_INTERVAL_S = 60;
export const STEP_S = 10;
export const HOUR = 3_600_000;

/**
 * 30 luminaires and 2 APs behind one gateway: ~32 readings per simulated minute, enough to keep the
 * agent's batches and ingest's writes busy during every fault while the whole suite stays quick.
 */
export function faultCity(luminaires = 30, aps = 2): GeneratedCity {
  return generateCity({
    seed: 5150,
    start: SIM_START,
    speed: 1,
    reportIntervalS: REPORT_INTERVAL_S,
    stepS: STEP_S,
    municipalities: [
      {
        id: MUNICIPALITY,
        name: 'Campinas',
        timeZone: 'America/Sao_Paulo',
        lat: -22.9056,
        lon: -47.0608,
        gateways: [{ id: GATEWAY, luminaires, aps }],
      },
    ],
  });
}

/**
 * A scheduler program that holds every luminaire of both groups at `level` whatever the hour (the
 * agent schedules on its own wall clock, the devices live in simulated time): devices receiving
 * that level is the observable sign that the agent has this program in force.
 */
export function constantProgram(level: number): unknown {
  return {
    site: { timeZone: 'UTC', latitude: -22.9, longitude: -47.06 },
    programs: [{ id: `constant-${level}`, steps: [{ kind: 'fixed', time: '00:00', level }] }],
    calendars: [{ id: 'always', rules: [], defaultProgram: `constant-${level}` }],
    groups: GROUPS.map((id) => ({ id, calendar: 'always' })),
  };
}
