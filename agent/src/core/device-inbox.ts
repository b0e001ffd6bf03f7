import {
  DeviceEventSchema,
  DeviceStateSchema,
  LocalTelemetrySchema,
  type ApReading,
  type Clock,
  type DeviceEvent,
  type LocalTelemetry,
  type LuminaireReading,
  type PayloadError,
} from '@poste/protocol';
import type { SinkResult } from '../adapters/types';
import { isEmptyRaw, validateCandidate } from './candidate';
import type { DeviceRecord, DeviceRegistry } from './device-registry';
import type { Listeners } from './listeners';
import type { Rejections } from './rejections';

export interface DeviceInboxDeps {
  registry: DeviceRegistry;
  rejections: Rejections;
  clock: Clock;
  /** A device's state changed: republish it northbound. */
  stateChanged(record: DeviceRecord): void;
  /** Spool a reading or an event; throws when it cannot be stored. */
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
 * Validates what adapters hand in (the LAN is a trust boundary, whichever protocol it speaks) and
 * turns it into registry updates, northbound readings and events. `adapter` is the instance name
 * the value came through: a device belongs to the adapter that announced it, and another adapter
 * may not speak for it while it is online.
 */
export class DeviceInbox {
  readonly #d: DeviceInboxDeps;
  readonly #stats: InboxStats = { states: 0, luminaireReadings: 0, apReadings: 0, events: 0 };

  constructor(deps: DeviceInboxDeps) {
    this.#d = deps;
  }

  state(adapter: string, deviceId: string, value: unknown): SinkResult {
    // An empty retained payload is how MQTT clears a retained birth: not an error, nothing to do.
    if (isEmptyRaw(value)) return 'accepted';
    const decoded = validateCandidate(DeviceStateSchema, value);
    if (!decoded.ok) return this.#reject('deviceState', decoded.error, adapter, deviceId);
    const known = this.#d.registry.get(deviceId);
    // An offline device may reappear behind another adapter (moved, re-provisioned); an online one
    // claimed by a second adapter is a duplicate id or a spoof, and the first claim stands.
    if (known !== undefined && known.adapter !== adapter && known.status === 'online') {
      return this.#reject(
        'deviceState',
        { path: 'device', reason: `online through adapter ${known.adapter}; device ids must be unique across adapters` },
        adapter,
        deviceId,
      );
    }
    this.#record(deviceId, decoded.value, adapter);
    return 'accepted';
  }

  will(adapter: string, deviceId: string): SinkResult {
    const known = this.#d.registry.get(deviceId);
    if (known === undefined || known.adapter !== adapter) {
      const reason = known === undefined ? 'no birth seen for this device' : `announced by adapter ${known.adapter}`;
      return this.#reject('deviceState', { path: 'device', reason: `will refused: ${reason}` }, adapter, deviceId);
    }
    if (known.status === 'offline') return 'accepted';
    // The device's own seq stays: the will belongs to the session its birth opened.
    this.#record(deviceId, { ...known.state, status: 'offline', ts: this.#d.clock.now() }, adapter);
    return 'accepted';
  }

  /** Validates and spools one reading; a spool that cannot take it throws (the device is then not acknowledged). */
  telemetry(adapter: string, deviceId: string, value: unknown): SinkResult {
    const decoded = validateCandidate(LocalTelemetrySchema, value);
    if (!decoded.ok) return this.#reject('deviceTelemetry', decoded.error, adapter, deviceId);
    const t = decoded.value;
    if (t.device !== deviceId) {
      return this.#reject(
        'deviceTelemetry',
        { path: 'device', reason: `does not match the device it came from (${deviceId})` },
        adapter,
        deviceId,
      );
    }
    const owner = this.ownerMismatch(adapter, deviceId);
    if (owner !== null) return this.#reject('deviceTelemetry', owner, adapter, deviceId);
    const known = this.#d.registry.get(deviceId);
    if (known !== undefined && known.kind !== t.kind) {
      return this.#reject('deviceTelemetry', { path: 'kind', reason: `device was born as ${known.kind}` }, adapter, deviceId);
    }
    if (t.kind === 'luminaire') {
      const { kind: _kind, ...reading } = t;
      // The group comes from the birth: controllers need not know how the city groups them.
      const group = known?.group ?? reading.group;
      this.#d.luminaireReading(group === undefined ? reading : { ...reading, group });
      this.#stats.luminaireReadings++;
    } else {
      const { kind: _kind, ...reading } = t;
      this.#d.apReading(reading);
      this.#stats.apReadings++;
    }
    this.#d.listeners.telemetry.emit(t);
    return 'accepted';
  }

  /** Validates and spools one event; a spool that cannot take it throws (the device is then not acknowledged). */
  event(adapter: string, deviceId: string, value: unknown): SinkResult {
    const decoded = validateCandidate(DeviceEventSchema, value);
    if (!decoded.ok) return this.#reject('deviceEvent', decoded.error, adapter, deviceId);
    if (decoded.value.device !== deviceId) {
      return this.#reject(
        'deviceEvent',
        { path: 'device', reason: `does not match the device it came from (${deviceId})` },
        adapter,
        deviceId,
      );
    }
    const owner = this.ownerMismatch(adapter, deviceId);
    if (owner !== null) return this.#reject('deviceEvent', owner, adapter, deviceId);
    this.#d.event(decoded.value);
    this.#stats.events++;
    this.#d.listeners.deviceEvent.emit(decoded.value);
    return 'accepted';
  }

  /** Null when `adapter` may speak for the device: it owns it, or nobody has announced it (sensors need no birth). */
  ownerMismatch(adapter: string, deviceId: string): PayloadError | null {
    const known = this.#d.registry.get(deviceId);
    if (known === undefined || known.adapter === adapter) return null;
    return { path: 'device', reason: `announced by adapter ${known.adapter}, not ${adapter}` };
  }

  stats(): InboxStats {
    return { ...this.#stats };
  }

  #record(deviceId: string, state: Parameters<DeviceRegistry['apply']>[1], adapter: string): void {
    this.#stats.states++;
    const record = this.#d.registry.apply(deviceId, state, adapter);
    this.#d.stateChanged(record);
    this.#d.listeners.deviceState.emit(record);
  }

  #reject(source: 'deviceState' | 'deviceTelemetry' | 'deviceEvent', error: PayloadError, adapter: string, device: string): 'rejected' {
    this.#d.rejections.reject(source, error, { device, adapter });
    return 'rejected';
  }
}
