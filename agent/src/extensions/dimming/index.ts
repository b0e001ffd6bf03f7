// The dimming extension: the scheduler's DimmingEngine driven from the agent's devices, telemetry,
// events and applied config, its levels sent as leased `dim` commands (see README.md here).
import type { z } from 'zod';
import type { DimmingOptionsSchema } from '../../core/options';
import type { AgentExtension, RunningExtension } from '../types';
import { attachDimming, schedulerConfigValidator, type DimmingStats } from './runner';

export const DIMMING_EXTENSION_NAME = 'dimming';

/** The tuning knobs of the config file's `dimming` section (`enabled` is the agent's business, not the extension's). */
export type DimmingSettings = Omit<z.input<typeof DimmingOptionsSchema>, 'enabled'>;

export interface RunningDimming extends RunningExtension {
  stats(): DimmingStats;
}

// Extensions the factory made: `stats().extensions.dimming` is typed as DimmingStats, so the name is
// reserved for these and the agent refuses any other extension that claims it.
const built = new WeakSet<AgentExtension>();

export function isDimmingExtension(ext: AgentExtension): boolean {
  return built.has(ext);
}

/** `startAgent({ extensions: [dimmingExtension({ leaseMs })] })`, or let the agent add it from `dimming.enabled`. */
export function dimmingExtension(settings: DimmingSettings = {}): AgentExtension {
  const ext: AgentExtension = {
    name: DIMMING_EXTENSION_NAME,
    // With dimming on, a scheduler section the engine cannot use is refused and reported to the cloud.
    validateSchedulerConfig: schedulerConfigValidator,
    start(host): RunningDimming {
      const runner = attachDimming(host, {
        clock: host.clock,
        timers: host.timers,
        logger: host.logger,
        ...(settings.tickIntervalMs !== undefined && { tickIntervalMs: settings.tickIntervalMs }),
        ...(settings.leaseMs !== undefined && { leaseMs: settings.leaseMs }),
        ...(settings.refreshBeforeMs !== undefined && { refreshBeforeMs: settings.refreshBeforeMs }),
        ...(settings.retryAfterMs !== undefined && { retryAfterMs: settings.retryAfterMs }),
        ...(settings.maxInFlight !== undefined && { maxInFlight: settings.maxInFlight }),
      });
      return { stats: () => runner.stats(), stop: () => runner.stop() };
    },
  };
  built.add(ext);
  return ext;
}

export {
  attachDimming,
  schedulerConfigValidator,
  DEFAULT_DIMMING_LEASE_MS,
  DEFAULT_DIMMING_TICK_MS,
  DEFAULT_DIMMING_MAX_IN_FLIGHT,
  type DimmingRunner,
  type DimmingOptions,
  type DimmingStats,
  type DimmingHost,
} from './runner';
