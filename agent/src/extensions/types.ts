// The contract between the agent and an extension (dimming today; bandwidth plans, OTA and health
// later). An extension sees the agent only through the AgentHost it is started with: the device
// registry, what devices say, the config in force, and device commands with their acks. It never
// sees the uplink, the adapters or the raw LAN.
import type { Logger } from 'pino';
import type { Clock, CommandAction, DeviceAck, DeviceEvent, LocalOta, LocalTelemetry, OtaStatus, PayloadError } from '@poste/protocol';
import type { AppliedConfig } from '../core/desired-config';
import type { DeviceRecord } from '../core/device-registry';
import type { Timers } from '../core/timers';

/**
 * OTA traffic (extensions/ota): the cloud's jobs and chunks as they arrive (raw payloads, validated
 * by the extension), statuses north, LAN OTA messages to a device through the adapter that owns it
 * and the device's answers.
 */
export interface OtaHostPort {
  onJob(listener: (payload: Buffer) => void): () => void;
  onChunk(listener: (payload: Buffer) => void): () => void;
  /** the north link is up again (subscribed): re-ask for what is missing */
  onNorthConnected(listener: () => void): () => void;
  /** QoS 1 on ota/status; false when the link is down */
  publishStatus(status: OtaStatus): boolean;
  /** rejects when no adapter owns the device or its adapter carries no OTA */
  sendToDevice(deviceId: string, msg: LocalOta): Promise<void>;
  onDeviceStatus(listener: (deviceId: string, payload: unknown) => void): () => void;
}

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
  /** OTA jobs, chunks and statuses (extensions/ota). */
  readonly ota: OtaHostPort;
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
