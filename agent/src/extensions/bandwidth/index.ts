// The bandwidth extension: runs the scheduler's allocateBandwidth over the gateway's APs each tick
// from their reported traffic and sends the plans that changed to the APs (see README.md here).
import type { AgentExtension, RunningExtension } from '../types';
import { BandwidthRunner, type BandwidthSettings, type BandwidthStats } from './runner';

export const BANDWIDTH_EXTENSION_NAME = 'bandwidth';

export const DEFAULT_BANDWIDTH_SETTINGS: BandwidthSettings = {
  tickIntervalMs: 10_000,
  householdReserveShare: 0.5,
  publicShare: 0.25,
  aps: {},
  changeTolerance: 0.05,
  headroom: 1.25,
  floorKbps: 64,
  maxInFlight: 16,
};

export interface RunningBandwidth extends RunningExtension {
  stats(): BandwidthStats;
  tickNow(): void;
}

/** `startAgent({ extensions: [bandwidthExtension({...})] })`, or let the agent add it from `bandwidth.enabled`. */
export function bandwidthExtension(
  settings: Partial<BandwidthSettings> = {},
): AgentExtension & { start(host: Parameters<AgentExtension['start']>[0]): RunningBandwidth } {
  const s: BandwidthSettings = { ...DEFAULT_BANDWIDTH_SETTINGS, ...settings };
  return {
    name: BANDWIDTH_EXTENSION_NAME,
    start(host): RunningBandwidth {
      const runner = new BandwidthRunner(host, s, { clock: host.clock, timers: host.timers, logger: host.logger });
      return { stats: () => runner.stats(), stop: () => runner.stop(), tickNow: () => runner.tickNow() };
    },
  };
}

export { BandwidthRunner, type BandwidthSettings, type BandwidthStats } from './runner';
export { planFor, estimateDemand, servedBetween, planChanged, type ApPolicy } from './plan';
