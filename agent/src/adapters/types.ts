// The contract between the agent and a device adapter. An adapter speaks one LAN protocol (Poste
// MQTT, Tasmota, OpenWrt…) and translates both ways: what devices say goes into the sink as
// Poste-shaped candidates, Poste device commands come out through sendCommand. Everything the
// adapter hands in is validated by the agent (the LAN is a trust boundary); adapters never touch
// the registry, the uplink or the relay directly. See README.md beside this file.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock, DeviceCommand, LocalOta } from '@poste/protocol';
import type { Timers } from '../core/timers';

/**
 * What became of a value handed in, returned synchronously so an adapter can acknowledge its
 * device only once the data is safe:
 * - `accepted`: taken — for telemetry and events, appended to the gateway's spool (on disk with a
 *   data dir): acknowledge the device now;
 * - `rejected`: invalid, counted and dropped: acknowledge anyway (resending cannot fix it);
 * - `retry`: not stored (the priority spool is full, a disk error, the agent is stopping): do NOT
 *   acknowledge; the device must resend (an MQTT adapter drops the connection without a PUBACK).
 */
export type SinkResult = 'accepted' | 'rejected' | 'retry';

/**
 * Where an adapter hands in what its devices said. Each value is either raw JSON (a Buffer,
 * Uint8Array or string, parsed first) or an already-mapped object; either way it is validated
 * against the Poste schema named below and refused (counted under the adapter, logged with path and
 * reason) if it does not fit. Methods never throw; they return what became of the value.
 */
export interface AdapterSink {
  /** A birth, a state update or a full last will: `DeviceState` (status online/offline). An empty raw payload (a cleared retained message) is ignored. */
  state(deviceId: string, value: unknown): SinkResult;
  /** The device's connection died and its protocol carries no Poste state (e.g. a bare LWT "Offline"): marks a device this adapter owns offline, keeping its metadata. */
  will(deviceId: string): SinkResult;
  /** One reading: `LocalTelemetry` (`kind` luminaire/ap); its `device` must equal deviceId. `accepted` = in the spool. */
  telemetry(deviceId: string, value: unknown): SinkResult;
  /** One event: `DeviceEvent`; its `device` must equal deviceId. `accepted` = in the spool. */
  event(deviceId: string, value: unknown): SinkResult;
  /** The answer to a command sent through sendCommand: `DeviceAck` carrying that command's `id`. */
  ack(deviceId: string, value: unknown): SinkResult;
  /** A device's OTA status (`LocalOtaStatus`, validated by the OTA extension), answering what sendOta carried. */
  otaStatus(deviceId: string, value: unknown): SinkResult;
}

/** What the agent gives an adapter when it creates it. */
export interface AdapterContext {
  /** This instance's name (config `name`, else the kind, `poste-2` for a second one): its key in stats and logs. */
  name: string;
  sink: AdapterSink;
  /** Child of the agent's logger, tagged with the adapter name. */
  logger: Logger;
  clock: Clock;
  timers: Timers;
}

/** A running adapter instance. */
export interface DeviceAdapter {
  readonly kind: string;
  /** The port devices connect to, for adapters that listen (config port 0 resolves here); undefined otherwise. */
  readonly listenPort?: number | undefined;
  /**
   * Hands one command to one device this adapter announced. Resolves once the transport took it
   * (not when the device answers: the answer comes back through `sink.ack`); rejects when it
   * cannot be sent, which the agent acks `failed` with the error message.
   */
  sendCommand(deviceId: string, cmd: DeviceCommand): Promise<void>;
  /** Hands one OTA message (`LocalOta`) to a device; absent when the adapter's devices cannot be updated over the air. */
  sendOta?(deviceId: string, msg: LocalOta): Promise<void>;
  /** Transport-specific counters (clients connected, port…): numbers or strings only, for `stats()`. */
  stats(): Record<string, number | string>;
  /** Closes connections and listeners; the agent calls it once, on stop. */
  stop(): Promise<void>;
}

/** The zod object every adapter config extends: the `kind` discriminator plus an optional instance name. */
export type AdapterConfigShape<K extends string> = z.ZodObject<{ kind: z.ZodLiteral<K>; name: z.ZodOptional<z.ZodString> } & z.ZodRawShape>;

/**
 * One row of the adapter table (registry.ts): the kind, the config schema (a strict zod object
 * whose `kind` is that literal; the agent config's `adapters` union is derived from these), and
 * the factory. `create` resolves once devices can connect; a rejection aborts the agent's start.
 */
export interface AdapterDescriptor<K extends string = string, S extends AdapterConfigShape<K> = AdapterConfigShape<K>> {
  kind: K;
  configSchema: S;
  create(config: z.output<S>, ctx: AdapterContext): Promise<DeviceAdapter>;
}
