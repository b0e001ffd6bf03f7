import {
  DeviceEventSchema,
  DeviceStateSchema,
  LocalTelemetrySchema,
  decode,
  type ApReading,
  type DeviceEvent,
  type LocalTelemetry,
  type LuminaireReading,
} from '@poste/protocol';
import type { DeviceRecord, DeviceRegistry } from './device-registry';
import type { Listeners } from './listeners';
import type { Rejections } from './rejections';

export interface DeviceInboxDeps {
  registry: DeviceRegistry;
  rejections: Rejections;
  /** A device's state changed: republish it northbound. */
  stateChanged(record: DeviceRecord): void;
  luminaireReading(reading: LuminaireReading): void;
  apReading(reading: ApReading): void;
  event(event: DeviceEvent): void;
  listeners: {
    deviceState: Listeners<DeviceRecord>;
    telemetry: Listeners<LocalTelemetry>;
    deviceEvent: Listeners<DeviceEvent>;
  };
}

export interface InboxStats {
  states: number;
  luminaireReadings: number;
  apReadings: number;
  events: number;
}

/**
 * Validates what devices publish on the local endpoint (the LAN is a trust boundary too) and
 * turns it into registry updates, northbound readings and events.
 */
export class DeviceInbox {
  readonly #d: DeviceInboxDeps;
  readonly #stats: InboxStats = { states: 0, luminaireReadings: 0, apReadings: 0, events: 0 };

  constructor(deps: DeviceInboxDeps) {
    this.#d = deps;
  }

  state(deviceId: string, payload: Buffer): void {
    // An empty retained payload is how MQTT clears a retained birth: not an error, nothing to do.
    if (payload.length === 0) return;
    const decoded = decode(DeviceStateSchema, payload);
    if (!decoded.ok) {
      this.#d.rejections.reject('deviceState', decoded.error, { device: deviceId });
      return;
    }
    this.#stats.states++;
    const record = this.#d.registry.apply(deviceId, decoded.value);
    this.#d.stateChanged(record);
    this.#d.listeners.deviceState.emit(record);
  }

  telemetry(deviceId: string, payload: Buffer): void {
    const decoded = decode(LocalTelemetrySchema, payload);
    if (!decoded.ok) {
      this.#d.rejections.reject('deviceTelemetry', decoded.error, { device: deviceId });
      return;
    }
    const t = decoded.value;
    if (t.device !== deviceId) {
      this.#d.rejections.reject('deviceTelemetry', { path: 'device', reason: `does not match topic device ${deviceId}` }, { device: deviceId });
      return;
    }
    const known = this.#d.registry.get(deviceId);
    if (known !== undefined && known.kind !== t.kind) {
      this.#d.rejections.reject('deviceTelemetry', { path: 'kind', reason: `device was born as ${known.kind}` }, { device: deviceId });
      return;
    }
    if (t.kind === 'luminaire') {
      const { kind: _kind, ...reading } = t;
      // The group comes from the birth: controllers need not know how the city groups them.
      const group = known?.group ?? reading.group;
      this.#stats.luminaireReadings++;
      this.#d.luminaireReading(group === undefined ? reading : { ...reading, group });
    } else {
      const { kind: _kind, ...reading } = t;
      this.#stats.apReadings++;
      this.#d.apReading(reading);
    }
    this.#d.listeners.telemetry.emit(t);
  }

  event(deviceId: string, payload: Buffer): void {
    const decoded = decode(DeviceEventSchema, payload);
    if (!decoded.ok) {
      this.#d.rejections.reject('deviceEvent', decoded.error, { device: deviceId });
      return;
    }
    if (decoded.value.device !== deviceId) {
      this.#d.rejections.reject('deviceEvent', { path: 'device', reason: `does not match topic device ${deviceId}` }, { device: deviceId });
      return;
    }
    this.#stats.events++;
    this.#d.event(decoded.value);
    this.#d.listeners.deviceEvent.emit(decoded.value);
  }

  stats(): InboxStats {
    return { ...this.#stats };
  }
}
