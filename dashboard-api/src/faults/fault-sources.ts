import { decode, DeviceEventSchema, EventBatchEnvelopeSchema, type EventType } from '@poste/protocol';
import type { EventHub } from '../events/event-hub';
import type { FleetLogger, FleetTracker } from '../fleet';
import type { Inventory } from '../inventory';
import type { FaultBook, FaultType } from './fault-book';

/** Device event types that are faults (the rest — motion, traffic, the gateway's own notes — are not). */
const EVENT_FAULTS: Partial<Record<EventType, FaultType>> = {
  lampFailure: 'lampFailure',
  driverFailure: 'driverFailure',
  dayBurner: 'dayBurner',
  cyclingFailure: 'cyclingFailure',
  supplyLoss: 'supplyLoss',
  tamper: 'tamper',
  apDown: 'apDown',
};

/**
 * Feeds the fault book: device events from `poste/v1/gw/+/events` (active raises, inactive clears),
 * and reachability from the fleet tracker — a gateway going offline (its last will: lost power or
 * uplink) is `gatewaySilent`; a device going offline while its gateway is online is `deviceSilent`
 * (a device behind a silent gateway is the gateway's fault, not one more). Every change goes to the
 * live feed. Returns the stop function.
 */
export function startFaultSources(deps: {
  fleet: FleetTracker;
  book: FaultBook;
  hub: EventHub;
  inventory: Inventory;
  now: () => number;
  logger?: FleetLogger;
}): () => void {
  const { fleet, book, hub, inventory } = deps;
  const municipalityOf = (gateway: string) => inventory.gateways[gateway] ?? '';
  const emit = (f: ReturnType<FaultBook['raise']> | undefined) => {
    if (f) hub.publish('fault', f);
  };
  const offEvents = fleet.tap('events', (gateway, payload) => {
    const env = decode(EventBatchEnvelopeSchema, payload);
    if (!env.ok) {
      deps.logger?.warn({ gateway }, 'faults: invalid event batch');
      return;
    }
    for (const raw of env.value.events) {
      const e = DeviceEventSchema.safeParse(raw);
      if (!e.success) continue;
      const type = EVENT_FAULTS[e.data.type];
      if (!type) continue;
      const spec = { type, municipality: municipalityOf(gateway), gateway, device: e.data.device, ts: e.data.ts };
      emit(
        e.data.active
          ? book.raise({ ...spec, ...(e.data.detail !== undefined ? { detail: e.data.detail } : {}) })
          : book.clearBySource(spec),
      );
    }
  });
  const offFleet = fleet.onChange((c) => {
    const ts = deps.now();
    const municipality = municipalityOf(c.gateway);
    if (c.kind === 'gateway') {
      const spec = { type: 'gatewaySilent' as const, municipality, gateway: c.gateway, ts };
      if (c.online || c.removed) emit(book.clearBySource(spec));
      else emit(book.raise({ ...spec, detail: 'gateway offline (last will)' }));
      return;
    }
    const spec = { type: 'deviceSilent' as const, municipality, gateway: c.gateway, device: c.device!, ts };
    if (c.online || c.removed) emit(book.clearBySource(spec));
    else if (fleet.gatewayStates().get(c.gateway) === true)
      emit(book.raise({ ...spec, detail: `${c.kind} offline while its gateway is online` }));
  });
  return () => {
    offEvents();
    offFleet();
  };
}
