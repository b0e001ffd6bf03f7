import { DeviceStateSchema, checkTimestamp, decode, jsonBoundExceeded, parseTopic, type PayloadError } from '@poste/protocol';
import type { PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { discardPublish } from '../broker/discard';
import type { PosteBroker } from '../broker/broker';
import type { DeadLetterReason } from './dead-letter';
import type { FleetRegistry } from './fleet-registry';

export interface AnnounceContext {
  fleet: FleetRegistry;
  nowMs: number;
  maxSkewMs: number;
  reject(reason: DeadLetterReason, topic: string, gateway: string, e: PayloadError, excerpt: unknown): void;
}

/**
 * A gateway's device state (`poste/v1/gw/{gw}/dev/{dev}/state`): records the announcement, or
 * refuses it — invalid, dated in the future, over the gateway's fleet cap, or a device the
 * inventory assigns to another gateway. A refused one is counted, dead-lettered, acknowledged and
 * discarded (neither delivered to the fleet view nor retained). Synchronous: see discardPublish.
 */
export function announceDevice(packet: PublishPacket, gateway: string, device: string, ctx: AnnounceContext): void {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  if (payload.length === 0) {
    // An empty retained payload clears the state: the gateway removed the device.
    ctx.fleet.forget(gateway, device);
    return;
  }
  const refuse = (reason: DeadLetterReason, e: PayloadError) => {
    ctx.reject(reason, packet.topic, gateway, e, payload);
    discardPublish(packet);
  };
  const state = decode(DeviceStateSchema, payload);
  if (!state.ok) {
    refuse(jsonBoundExceeded(state.error) ?? 'invalid-device-state', state.error);
    return;
  }
  const late = checkTimestamp(state.value.ts, ctx.nowMs, ctx.maxSkewMs, undefined);
  if (late) {
    refuse(late.reason, late.error);
    return;
  }
  const verdict = ctx.fleet.announce(gateway, device, state.value);
  if (verdict === 'over-fleet-cap') {
    refuse('fleet-cap', {
      path: '',
      reason: `gateway ${gateway} already has ${ctx.fleet.devicesOf(gateway)} devices, its cap is ${ctx.fleet.capOf(gateway)}`,
    });
  } else if (verdict === 'assigned-elsewhere') {
    refuse('device-assigned-elsewhere', { path: '', reason: `the inventory assigns device ${device} to another gateway` });
  }
}

interface RetainedSource {
  createRetainedStream(pattern: string): AsyncIterable<PublishPacket>;
}

/**
 * Learns the devices announced before this start from the broker's retained device states (they
 * survive a restart with the broker's persistence). A failure is logged: readings of devices not
 * learned are then quarantined until their gateway announces them again.
 */
export async function seedFleet(broker: PosteBroker, fleet: FleetRegistry, logger: Logger): Promise<void> {
  try {
    const source = (broker.aedes as unknown as { persistence: RetainedSource }).persistence;
    let learned = 0;
    for await (const packet of source.createRetainedStream('poste/v1/gw/+/dev/+/state')) {
      const parsed = parseTopic(packet.topic);
      if (parsed?.kind !== 'deviceState' || packet.payload.length === 0) continue;
      const state = decode(DeviceStateSchema, packet.payload);
      if (state.ok && fleet.announce(parsed.params.gateway, parsed.params.device, state.value) === 'ok') learned++;
    }
    if (learned > 0) logger.info({ devices: learned }, 'fleet state: devices learned from retained device states');
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'fleet state: retained device states unreadable');
  }
}
