// Readings for the rollup property tests (every store's, and the InfluxDB layer's): a few devices
// over ~4 hours after T0, small counter values so that resets are frequent, luminaires in two
// groups, APs with and without coproduction counters.
import type { Point } from '../types';

export const T0 = Date.UTC(2026, 2, 1);

export interface Reading {
  device: number;
  /** minutes after T0 */
  minute: number;
  value: number;
  kind: 'luminaire' | 'ap';
}

export function readingToPoint(r: Reading): Point {
  const ts = T0 + r.minute * 60_000;
  if (r.kind === 'luminaire') {
    return {
      measurement: 'luminaire',
      tags: { municipality: 'm', gateway: 'g', luminaire: `L${r.device}`, group: r.device % 2 ? 'a' : 'b' },
      fields: { activeEnergy: r.value, operatingHours: r.value / 7, status: r.value % 3 === 0 ? 'lampFailure' : 'ok' },
      ts,
    };
  }
  return {
    measurement: 'ap',
    tags: { municipality: 'm', gateway: 'g', ap: `A${r.device}` },
    fields: {
      bytesHousehold: r.value * 1000,
      bytesPublic: r.value * 10 + 0.5,
      bytesTelemedicine: r.value,
      clientsHousehold: r.value % 4,
      clientsPublic: r.value % 3,
      clientsTelemedicine: 1,
      capacityKbps: 1000 + r.value,
      // An AP without coproduction (old firmware) on odd devices: its counters stay unchained.
      ...(r.device % 2 === 0 ? { telemedicineSessions: r.value % 7, reserveMeasuredS: r.value * 60, reserveHonouredS: r.value * 55 } : {}),
    },
    ts,
  };
}
