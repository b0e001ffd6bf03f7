import type { PublishPacket } from 'aedes';

/**
 * Where a discarded publish goes: a `$` topic, which no `#` or `+` filter matches (MQTT 3.1.1
 * 4.7.2-1) and which the ACL lets nobody subscribe to.
 */
export const DISCARDED_TOPIC = '$poste/discarded';

/**
 * Acknowledges a publish without delivering or retaining it. MQTT 3.1.1 has no negative PUBACK:
 * refusing with an error disconnects a QoS 1 sender without PUBACK, and it resends the same
 * message forever. Call synchronously from a PublishGate (before it first awaits): the broker reads
 * `retain` right after the gate returns, and Aedes routes the packet by its topic after the PUBACK.
 * Aedes documents rewriting the packet in authorizePublish (its payload-overwrite example).
 */
export function discardPublish(packet: PublishPacket): void {
  packet.retain = false;
  packet.topic = DISCARDED_TOPIC;
}
