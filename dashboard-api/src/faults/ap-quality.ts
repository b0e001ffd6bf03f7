import type { Clock } from '@poste/protocol';
import type { StoreReader } from '@poste/telemetry-store';
import type { EventHub } from '../events/event-hub';
import type { FleetLogger } from '../fleet';
import type { Inventory } from '../inventory';
import { freePointFigures } from '../wifi-figures';
import type { FaultBook } from './fault-book';

/**
 * The free Wi-Fi points against their quality threshold, every `intervalMs` (real): a point whose
 * last reported hour left less spare capacity than its municipality's `wifiQualityKbps` raises
 * `apBelowQuality`; back above, the fault clears. A point with no data raises nothing here (the
 * fleet's deviceSilent covers it). One small store read (two hours of the APs' rollups) per round.
 */
export function startApQualityWatch(deps: {
  store: StoreReader;
  inventory: Inventory;
  book: FaultBook;
  hub: EventHub;
  clock: Clock;
  intervalMs?: number;
  logger?: FleetLogger;
}): () => void {
  if (!Object.values(deps.inventory.aps).some((a) => a.freePoint)) return () => {};
  let running = false;
  const round = async () => {
    if (running) return;
    running = true;
    try {
      const to = deps.clock.now();
      const range = { from: to - 2 * 3_600_000, to };
      const hours = await deps.store.apHours(range);
      const gatewayOf = new Map(hours.map((h) => [h.ap, h.gateway]));
      for (const p of freePointFigures(hours, deps.inventory, range)) {
        const gateway = gatewayOf.get(p.ap);
        if (gateway === undefined || p.lastHour === undefined) continue;
        const spec = { type: 'apBelowQuality' as const, municipality: p.municipality, gateway, device: p.ap, ts: to };
        const f = p.belowQuality
          ? deps.book.raise({ ...spec, detail: `${Math.round(p.spareKbps)} kbit/s spare, threshold ${p.thresholdKbps} kbit/s` })
          : deps.book.clearBySource(spec);
        if (f) deps.hub.publish('fault', f);
      }
    } catch (err) {
      deps.logger?.warn({ err: (err as Error).message }, 'faults: free-point quality check failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void round(), deps.intervalMs ?? 60_000);
  timer.unref?.();
  return () => clearInterval(timer);
}
