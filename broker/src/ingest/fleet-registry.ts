import type { ApCounters, DeviceKind, DeviceState, LuminaireCounters } from '@poste/protocol';

/** What the municipality's inventory says about gateways and devices (both lookups optional). */
export interface DeviceInventory {
  /** the gateway the inventory assigns a device to; undefined = the inventory does not know the device */
  gatewayOf?(device: string): string | undefined;
  /**
   * how many devices the inventory lists for a gateway; undefined = the gateway is not in the
   * inventory, and it may announce no device at all (its readings are quarantined)
   */
  devicesOf?(gateway: string): number | undefined;
}

export interface FleetOptions {
  /**
   * Devices one gateway may have in the fleet state when the inventory gives no count for it.
   * Default 250: a street-lighting segment controller drives 50–200 nodes.
   */
  maxDevicesPerGateway?: number;
  /** Margin over the inventory's count (spares swapped in before the inventory is updated): default max(5, 10 %). */
  marginDevices?: (listed: number) => number;
  inventory?: DeviceInventory;
  /**
   * Quarantine readings of devices their gateway never announced (no retained device state on
   * `poste/v1/gw/{gw}/dev/{dev}/state`). Off by default for library users who feed raw telemetry;
   * `poste-cloud serve` and `poste-broker serve` turn it on (`--accept-unannounced` turns it off).
   */
  requireAnnouncement?: boolean;
}

export const DEFAULT_MAX_DEVICES_PER_GATEWAY = 250;
const defaultMargin = (listed: number) => Math.max(5, Math.ceil(listed * 0.1));

/** One device as ingest knows it: where it was born, its rated power, and its last accepted counters. */
export interface DeviceEntry {
  kind: DeviceKind | undefined;
  announced: boolean;
  /** earliest birth timestamp seen (device clock) */
  birthTs: number | undefined;
  nominalPowerW: number | undefined;
  luminaire: LuminaireCounters | undefined;
  ap: ApCounters | undefined;
}

export type QuarantineReason = 'unannounced' | 'assigned-elsewhere' | 'gateway-not-in-inventory';

/**
 * Per-gateway fleet state as ingest sees it: the devices each gateway announced (retained device
 * states), bounded per gateway, with what plausibility needs to step the next reading. Gateways
 * are bounded by the credentials (only an authenticated gateway gets here), devices by the cap.
 */
export class FleetRegistry {
  private readonly gateways = new Map<string, Map<string, DeviceEntry>>();
  private readonly maxDevices: number;
  private readonly margin: (listed: number) => number;

  constructor(private readonly opts: FleetOptions = {}) {
    this.maxDevices = opts.maxDevicesPerGateway ?? DEFAULT_MAX_DEVICES_PER_GATEWAY;
    this.margin = opts.marginDevices ?? defaultMargin;
  }

  /** How many devices this gateway may have in the fleet state. */
  capOf(gateway: string): number {
    const inv = this.opts.inventory;
    if (!inv?.devicesOf) return this.maxDevices;
    const listed = inv.devicesOf(gateway);
    return listed === undefined ? 0 : listed + this.margin(listed);
  }

  devicesOf(gateway: string): number {
    return this.gateways.get(gateway)?.size ?? 0;
  }

  /** A device birth/state; refused (nothing recorded) when the gateway is at its cap. */
  announce(gateway: string, device: string, state: DeviceState): 'ok' | 'over-fleet-cap' | 'assigned-elsewhere' {
    if (this.assignedElsewhere(gateway, device)) return 'assigned-elsewhere';
    const entry = this.entry(gateway, device);
    if (!entry) return 'over-fleet-cap';
    entry.announced = true;
    entry.kind = state.kind;
    if (entry.birthTs === undefined || state.ts < entry.birthTs) entry.birthTs = state.ts;
    if (state.nominalPowerW !== undefined) entry.nominalPowerW = state.nominalPowerW;
    return 'ok';
  }

  /** The gateway cleared a device's retained state: it leaves the fleet state (and frees its place). */
  forget(gateway: string, device: string): void {
    const devices = this.gateways.get(gateway);
    devices?.delete(device);
    if (devices?.size === 0) this.gateways.delete(gateway);
  }

  /** The device a reading belongs to, or why its readings are quarantined. */
  forReading(gateway: string, device: string): DeviceEntry | QuarantineReason {
    if (this.assignedElsewhere(gateway, device)) return 'assigned-elsewhere';
    if (this.opts.inventory?.devicesOf && this.opts.inventory.devicesOf(gateway) === undefined) return 'gateway-not-in-inventory';
    const known = this.gateways.get(gateway)?.get(device);
    if (known) return known.announced || !this.opts.requireAnnouncement ? known : 'unannounced';
    if (this.opts.requireAnnouncement) return 'unannounced';
    // Without announcements a device seen in telemetry takes a place in the bounded fleet state;
    // past the cap its readings are still taken, judged by the absolute bounds only (no step state
    // is kept for it): quarantining them is what requireAnnouncement is for.
    return this.entry(gateway, device) ?? untracked();
  }

  /** The entry of a device already known (events' birth check), never creating one. */
  known(gateway: string, device: string): DeviceEntry | undefined {
    return this.gateways.get(gateway)?.get(device);
  }

  private assignedElsewhere(gateway: string, device: string): boolean {
    const assigned = this.opts.inventory?.gatewayOf?.(device);
    return assigned !== undefined && assigned !== gateway;
  }

  private entry(gateway: string, device: string): DeviceEntry | undefined {
    let devices = this.gateways.get(gateway);
    const found = devices?.get(device);
    if (found) return found;
    if ((devices?.size ?? 0) >= this.capOf(gateway)) return undefined;
    if (!devices) {
      devices = new Map();
      this.gateways.set(gateway, devices);
    }
    const created = untracked();
    devices.set(device, created);
    return created;
  }
}

/** An entry nobody keeps: for a reading judged without its device's history. */
function untracked(): DeviceEntry {
  return { kind: undefined, announced: false, birthTs: undefined, nominalPowerW: undefined, luminaire: undefined, ap: undefined };
}
