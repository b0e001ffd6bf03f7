import type { FleetChange, FleetTracker } from '../fleet';
import type { EventHub } from './event-hub';

/** Most device changes named in one fleet event; the rest are only counted. */
const MAX_NAMED = 100;

/**
 * Turns the tracker's per-device changes into at most one `fleet` event per `intervalMs`: a
 * gateway losing power takes its hundreds of devices with it, and one event with the counts
 * serves the page better than hundreds. Returns the stop function.
 */
export function startFleetFeed(fleet: FleetTracker, hub: EventHub, intervalMs = 1_000): () => void {
  let pending: FleetChange[] = [];
  let count = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (count === 0) return;
    hub.publish('fleet', { changes: count, devices: pending, snapshot: fleet.snapshot() });
    pending = [];
    count = 0;
  };
  const unsubscribe = fleet.onChange((c) => {
    count += 1;
    if (pending.length < MAX_NAMED) pending.push(c);
    timer ??= setTimeout(flush, intervalMs);
    timer.unref?.();
  });
  return () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
  };
}
