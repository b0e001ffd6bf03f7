// The running extensions of one agent. Each gets its own AgentHost (its own logger child, and
// listeners tracked so they are removed when it stops, even if the extension forgets), is started
// in order after the core and stopped in reverse order before it.
import type { Logger } from 'pino';
import type { DeviceEvent, LocalTelemetry, PayloadError } from '@poste/protocol';
import { DIMMING_EXTENSION_NAME, isDimmingExtension, type DimmingStats } from '../extensions/dimming';
import type { AgentExtension, AgentHost, OtaHostPort, RunningExtension } from '../extensions/types';
import type { AppliedConfig } from './desired-config';
import type { DeviceRecord } from './device-registry';
import type { Listeners } from './listeners';

/** `stats().extensions`: one entry per extension name; `dimming` is reserved for the built-in one, hence its type. */
export type ExtensionStats = Record<string, object> & { dimming?: DimmingStats };

export interface ExtensionHostDeps
  extends Pick<AgentHost, 'gatewayId' | 'clock' | 'timers' | 'devices' | 'commandDevice' | 'appliedConfig' | 'schedulerConfig'> {
  log: Logger;
  listeners: {
    deviceState: Listeners<DeviceRecord>;
    telemetry: Listeners<LocalTelemetry>;
    deviceEvent: Listeners<DeviceEvent>;
    config: Listeners<AppliedConfig>;
  };
  /** OTA plumbing (agent.ts); absent in tests that start extensions without an agent: the port then refuses. */
  ota?: {
    job: Listeners<Buffer>;
    chunk: Listeners<Buffer>;
    northConnected: Listeners<void>;
    deviceStatus: Listeners<{ deviceId: string; payload: unknown }>;
    publishStatus: OtaHostPort['publishStatus'];
    sendToDevice: OtaHostPort['sendToDevice'];
  };
}

/** Refuses duplicate names and a foreign extension claiming the built-in `dimming` name, before anything starts. */
export function checkExtensionNames(extensions: readonly AgentExtension[]): void {
  const seen = new Set<string>();
  for (const [i, ext] of extensions.entries()) {
    if (seen.has(ext.name)) throw new Error(`extensions[${i}]: name ${ext.name} is already used by another extension`);
    if (ext.name === DIMMING_EXTENSION_NAME && !isDimmingExtension(ext)) {
      throw new Error(
        `extensions[${i}]: name ${DIMMING_EXTENSION_NAME} is reserved for the built-in dimming extension (dimmingExtension())`,
      );
    }
    seen.add(ext.name);
  }
}

/** Every extension's scheduler-section check in one: the first error wins; null when all accept (or none checks). */
export function combinedSchedulerValidator(
  extensions: readonly AgentExtension[],
  extra: ((raw: unknown) => PayloadError | null) | undefined,
): ((raw: unknown) => PayloadError | null) | undefined {
  const checks = [
    ...(extra ? [extra] : []),
    ...extensions.flatMap((e) => (e.validateSchedulerConfig ? [e.validateSchedulerConfig.bind(e)] : [])),
  ];
  if (checks.length === 0) return undefined;
  return (raw) => {
    for (const check of checks) {
      const err = check(raw);
      if (err) return err;
    }
    return null;
  };
}

const noop = (): void => {};

/** One extension's view of the OTA plumbing, its listeners tracked like the others. */
function otaPort(ota: ExtensionHostDeps['ota'], track: (remove: () => void) => () => void): OtaHostPort {
  if (!ota) {
    return {
      onJob: () => noop,
      onChunk: () => noop,
      onNorthConnected: () => noop,
      onDeviceStatus: () => noop,
      publishStatus: () => false,
      sendToDevice: () => Promise.reject(new Error('this agent carries no OTA traffic')),
    };
  }
  return {
    onJob: (l) => track(ota.job.add(l)),
    onChunk: (l) => track(ota.chunk.add(l)),
    onNorthConnected: (l) => track(ota.northConnected.add(l)),
    onDeviceStatus: (l) => track(ota.deviceStatus.add(({ deviceId, payload }) => l(deviceId, payload))),
    publishStatus: ota.publishStatus,
    sendToDevice: ota.sendToDevice,
  };
}

interface Started {
  name: string;
  running: RunningExtension;
  unsubscribe: Array<() => void>;
  log: Logger;
}

export class ExtensionSet {
  readonly #started: Started[];

  private constructor(started: Started[]) {
    this.#started = started;
  }

  /** Starts in order; if one fails, the ones already started are stopped and the error is rethrown, naming the extension. */
  static async start(extensions: readonly AgentExtension[], deps: ExtensionHostDeps): Promise<ExtensionSet> {
    checkExtensionNames(extensions);
    const started: Started[] = [];
    for (const ext of extensions) {
      const log = deps.log.child({ extension: ext.name });
      const unsubscribe: Array<() => void> = [];
      const track = (remove: () => void): (() => void) => {
        unsubscribe.push(remove);
        return remove;
      };
      const host: AgentHost = {
        gatewayId: deps.gatewayId,
        clock: deps.clock,
        timers: deps.timers,
        logger: log,
        onDeviceState: (l) => track(deps.listeners.deviceState.add(l)),
        onDeviceEvent: (l) => track(deps.listeners.deviceEvent.add(l)),
        onTelemetry: (l) => track(deps.listeners.telemetry.add(l)),
        onConfigApplied: (l) => track(deps.listeners.config.add(l)),
        devices: deps.devices,
        commandDevice: deps.commandDevice,
        appliedConfig: deps.appliedConfig,
        schedulerConfig: deps.schedulerConfig,
        ota: otaPort(deps.ota, track),
      };
      try {
        const running = await ext.start(host);
        started.push({ name: ext.name, running, unsubscribe, log });
        log.info('extension started');
      } catch (err) {
        for (const u of unsubscribe) u();
        await new ExtensionSet(started).stop();
        throw new Error(`extension ${ext.name} failed to start: ${(err as Error).message}`);
      }
    }
    return new ExtensionSet(started);
  }

  stats(): ExtensionStats {
    const out: Record<string, object> = {};
    for (const s of this.#started) {
      try {
        out[s.name] = s.running.stats();
      } catch (err) {
        out[s.name] = { statsError: (err as Error).message };
      }
    }
    // checkExtensionNames guarantees `dimming` is the built-in extension, whose stats are DimmingStats.
    return out as ExtensionStats;
  }

  /** Reverse start order; a failing stop is logged and the others still stop. */
  async stop(): Promise<void> {
    for (const s of [...this.#started].reverse()) {
      try {
        await s.running.stop();
      } catch (err) {
        s.log.error({ err: (err as Error).message }, 'extension failed to stop cleanly');
      }
      for (const u of s.unsubscribe) u();
    }
    this.#started.length = 0;
  }
}
