import type { MqttClient } from 'mqtt';
import type { DeviceLink } from './device-link';

/**
 * One MQTT session carrying several devices, like the nodes of an RF mesh behind their
 * concentrator: the concentrator holds the one connection to the gateway and relays each node's
 * births, readings, events and acks on that node's own topics, and its commands back. A city of
 * 100,000 luminaires then needs about a hundred connections instead of 100,000 (a process has 20,000
 * file descriptors here, and each mqtt.js client costs tens of KB).
 *
 * What differs from a session per device: there is no will per device (MQTT has one will per
 * connection). A node that loses power is reported offline by the concentrator instead — its
 * offline state, published retained on its state topic, exactly what its will would have said.
 */
export class SharedSession {
  client: MqttClient | undefined;
  /** Resolves once the session connected the first time (start() waits for it). */
  ready: Promise<void> | undefined;
  readonly members: DeviceLink[] = [];
  /** Command topic → the member it is for: the session subscribes to all of them. */
  readonly byCommandTopic = new Map<string, DeviceLink>();

  constructor(
    /** the session's client id: a valid device id of its own (`<gateway>-mesh-<n>`) */
    readonly clientId: string,
    readonly url: string,
  ) {}
}

/**
 * Groups links into shared sessions of at most `perSession` devices, per endpoint URL and in the
 * fleet's order (so a gateway's devices fill its sessions one after another).
 */
export function groupIntoSessions(
  links: Iterable<DeviceLink>,
  perSession: number,
  commandTopic: (deviceId: string) => string,
): SharedSession[] {
  const open = new Map<string, SharedSession>();
  const counts = new Map<string, number>();
  const sessions: SharedSession[] = [];
  for (const l of links) {
    let s = open.get(l.url);
    if (s === undefined || s.members.length >= perSession) {
      const n = (counts.get(l.url) ?? 0) + 1;
      counts.set(l.url, n);
      s = new SharedSession(`${l.device.spec.gateway}-mesh-${n}`, l.url);
      open.set(l.url, s);
      sessions.push(s);
    }
    s.members.push(l);
    s.byCommandTopic.set(commandTopic(l.device.spec.id), l);
    l.shared = s;
  }
  return sessions;
}
