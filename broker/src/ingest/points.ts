import type { ApReading, DeviceEvent, LuminaireReading } from '@poste/protocol';
import { UNGROUPED } from '@poste/telemetry-store';
import type { Point } from '@poste/telemetry-store';

/** Where a reading came from, as the server knows it (never from the payload). */
export interface Origin {
  municipality: string;
  gateway: string;
}

/** Luminaire reading → `luminaire` point (docs/architecture.md, storage). */
export function luminairePoint(o: Origin, r: LuminaireReading): Point {
  return {
    measurement: 'luminaire',
    tags: { municipality: o.municipality, gateway: o.gateway, luminaire: r.device, group: r.group ?? UNGROUPED },
    fields: {
      activePower: r.activePower,
      activeEnergy: r.activeEnergy,
      dimLevel: r.dimLevel,
      voltage: r.voltage,
      current: r.current,
      powerFactor: r.powerFactor,
      operatingHours: r.operatingHours,
      switchOnCounter: r.switchOnCounter,
      status: r.status,
    },
    ts: r.ts,
  };
}

/** AP reading → `ap` point, per-class figures flattened (bytesHousehold …); no client MACs exist to store. */
export function apPoint(o: Origin, r: ApReading): Point {
  return {
    measurement: 'ap',
    tags: { municipality: o.municipality, gateway: o.gateway, ap: r.device },
    fields: {
      capacityKbps: r.capacityKbps,
      uptime: r.uptime,
      clientsHousehold: r.clients.household,
      clientsTelemedicine: r.clients.telemedicine,
      clientsPublic: r.clients.public,
      bytesHousehold: r.bytes.household,
      bytesTelemedicine: r.bytes.telemedicine,
      bytesPublic: r.bytes.public,
      // Only from APs a household cedes (coproduction v1): counters since boot, chained like the bytes.
      ...(r.coproduction
        ? {
            telemedicineSessions: r.coproduction.telemedicineSessions,
            telemedicineSessionsActive: r.coproduction.telemedicineSessionsActive,
            reserveKbps: r.coproduction.reserveKbps,
            reserveMeasuredS: r.coproduction.reserveMeasuredS,
            reserveHonouredS: r.coproduction.reserveHonouredS,
          }
        : {}),
    },
    ts: r.ts,
  };
}

/** Device event → `event` point. */
export function eventPoint(o: Origin, e: DeviceEvent): Point {
  const fields: Point['fields'] = { active: e.active };
  if (e.value !== undefined) fields.value = e.value;
  if (e.detail !== undefined) fields.detail = e.detail;
  return {
    measurement: 'event',
    tags: { municipality: o.municipality, gateway: o.gateway, device: e.device, type: e.type },
    fields,
    ts: e.ts,
  };
}
