import type { ApReading, DeviceEvent, LuminaireReading } from '@poste/protocol';
import { UNGROUPED } from '@poste/telemetry-store';
import type { Point } from '@poste/telemetry-store';

/** Where a reading came from, as the server knows it (never from the payload). */
export interface Origin {
  municipality: string;
  gateway: string;
}

type Tags = Readonly<Record<string, string>>;

/**
 * Frozen tags objects shared by every point of one device while its municipality, gateway and
 * group stay the same: one tags object per device instead of one per reading, and the stores find
 * a series by the object's identity instead of building its key string for every point
 * (telemetry-store rollups/rows.ts seriesKeyOfPoint). Bounded: emptied when it reaches `max`
 * devices (a point then simply gets a new object).
 */
export class SharedTags {
  private readonly byGateway = new Map<string, Map<string, Tags>>();
  private devices = 0;

  constructor(
    /** the device's tag name: 'luminaire' or 'ap' */
    private readonly deviceTag: 'luminaire' | 'ap',
    private readonly max = 100_000,
  ) {}

  of(o: Origin, device: string, group?: string): Tags {
    let devices = this.byGateway.get(o.gateway);
    const known = devices?.get(device);
    if (known !== undefined && known.municipality === o.municipality && known.group === group) return known;
    if (this.devices >= this.max) {
      this.byGateway.clear();
      this.devices = 0;
      devices = undefined;
    }
    if (devices === undefined) {
      devices = new Map();
      this.byGateway.set(o.gateway, devices);
    }
    const tags: Record<string, string> = { municipality: o.municipality, gateway: o.gateway, [this.deviceTag]: device };
    if (group !== undefined) tags.group = group;
    Object.freeze(tags);
    if (known === undefined) this.devices++;
    devices.set(device, tags);
    return tags;
  }
}

/** Luminaire reading → `luminaire` point (docs/architecture.md, storage); `shared`: take the tags from there. */
export function luminairePoint(o: Origin, r: LuminaireReading, shared?: SharedTags): Point {
  const group = r.group ?? UNGROUPED;
  return {
    measurement: 'luminaire',
    tags: shared ? shared.of(o, r.device, group) : { municipality: o.municipality, gateway: o.gateway, luminaire: r.device, group },
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
export function apPoint(o: Origin, r: ApReading, shared?: SharedTags): Point {
  return {
    measurement: 'ap',
    tags: shared ? shared.of(o, r.device) : { municipality: o.municipality, gateway: o.gateway, ap: r.device },
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
