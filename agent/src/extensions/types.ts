// The contract between the agent and an extension (dimming today; bandwidth plans, OTA and health
// later). An extension sees the agent only through the AgentHost it is started with: the device
// registry, what devices say, the config in force, and device commands with their acks. It never
// sees the uplink, the adapters or the raw LAN.
import type { Logger } from 'pino';
import type { Clock, CommandAction, DeviceAck, DeviceEvent, LocalTelemetry, PayloadError } from '@poste/protocol';
import type { AppliedConfig } from '../core/desired-config';
import type { DeviceRecord } from '../core/device-registry';
import type { Timers } from '../core/timers';

/** What a running agent offers one extension. Listeners added here are removed when the extension stops. */
export interface AgentHost {
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Child of the agent's logger, tagged `{extension: name}`. */
  readonly logger: Logger;
  /** A device was born, changed or went offline (validated, merged with what was known). */
  onDeviceState(listener: (device: DeviceRecord) => void): () => void;
  /** A validated device event (motion, traffic, faults…). */
  onDeviceEvent(listener: (event: DeviceEvent) => void): () => void;
  /** A validated telemetry reading, before batching. */
  onTelemetry(listener: (reading: LocalTelemetry) => void): () => void;
  /** A newer desired config was validated and put into force. */
  onConfigApplied(listener: (config: AppliedConfig) => void): () => void;
  /** Registry snapshot (copies). */
  devices(): DeviceRecord[];
  /** Sends one action to one device through the adapter that owns it; never rejects (silence becomes outcome `timeout`). */
  commandDevice(deviceId: string, action: CommandAction, opts?: { id?: string; expiresAt?: number }): Promise<DeviceAck>;
  /** The config in force (version 0 = none received yet). */
  appliedConfig(): AppliedConfig;
  /** The `scheduler` section of the config in force (unvalidated here; see validateSchedulerConfig). */
  schedulerConfig(): unknown;
}

/** A started extension. */
export interface RunningExtension {
  /** Its counters, shown as `agent.stats().extensions[name]`. */
  stats(): object;
  /** Stops timers and pending work; the agent calls it once, before the core stops. */
  stop(): void | Promise<void>;
}

export interface AgentExtension {
  /** Unique within one agent; the key in `stats().extensions` and in logs. */
  readonly name: string;
  /**
   * Optional check of the `scheduler` section of a desired config: an error refuses the whole
   * config version and is reported to the cloud with `config.scheduler.<path>`.
   */
  validateSchedulerConfig?(raw: unknown): PayloadError | null;
  /** Called once, after the adapters and the uplink started. A rejection aborts the agent's start. */
  start(host: AgentHost): RunningExtension | Promise<RunningExtension>;
}
