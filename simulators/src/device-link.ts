import { encode, topic } from '@poste/protocol';
import type { MqttClient } from 'mqtt';
import type { SharedSession } from './shared-session';
import type { SimDevice } from './sim-devices';
import type { HeldMessage } from './snapshot';

/** A reading or event the device holds until its endpoint acknowledges it (PUBACK). */
export interface Held {
  readonly msg: HeldMessage;
  /** The MQTT session it was last handed to; another session (a new connection) sends it again. */
  sentOn: MqttClient | undefined;
}

export function heldTopic(m: HeldMessage): string {
  return m.type === 'telemetry' ? topic('localTelemetry', { device: m.device }) : topic('localEvent', { device: m.device });
}

/**
 * One device's MQTT session to its gateway's local endpoint, and what it holds: like a controller
 * with a small flash buffer, a reading stays held until acknowledged and is sent again on the next
 * connection (after a power cut, or after the whole city restarted from its checkpoint). The fleet
 * bounds the total held across devices (no new step while full), so this never grows unbounded.
 */
export class DeviceLink {
  client: MqttClient | undefined;
  seq = 0;
  /** Insertion order = production order. */
  readonly held = new Set<Held>();
  /** Births and acks of this session awaiting PUBACK (not held across sessions). */
  controlPending = 0;
  /** The session this device shares with others (DeviceFleetOptions.devicesPerSession > 1); undefined: its own. */
  shared: SharedSession | undefined;
  constructor(
    readonly device: SimDevice,
    readonly url: string,
  ) {}

  /** Hands a held message to the current session; `acked` runs once the endpoint acknowledged it. */
  send(h: Held, acked: () => void): void {
    const c = this.client;
    if (!c) return;
    h.sentOn = c;
    c.publish(heldTopic(h.msg), encode(h.msg.payload), { qos: 1 }, (err) => {
      // An error means the session ended before the PUBACK: the message stays held for the next one.
      if (err) return;
      if (this.held.delete(h)) acked();
    });
  }

  /** On a new session: everything held that this session has not been handed yet, oldest first. */
  resendHeld(acked: () => void): void {
    for (const h of this.held) if (h.sentOn !== this.client) this.send(h, acked);
  }
}
