// The running device adapters of one agent: each gets its own sink (bound to its instance name,
// so everything it hands in is validated, counted and attributed to it), and commands go back
// through the adapter that announced the device.
import type { Logger } from 'pino';
import { isValidId, type Clock, type DeviceCommand, type LocalOta } from '@poste/protocol';
import { adapterInstanceNames, createAdapter, type AdapterConfig } from '../adapters/registry';
import { SpoolFullError } from '@poste/spool';
import type { AdapterContext, AdapterSink, DeviceAdapter, SinkResult } from '../adapters/types';
import type { DeviceInbox } from './device-inbox';
import type { DeviceRegistry } from './device-registry';
import type { RejectionSource, Rejections } from './rejections';
import type { Timers } from './timers';

export interface AdapterSetDeps {
  inbox: DeviceInbox;
  registry: DeviceRegistry;
  rejections: Rejections;
  /** A validated-owner ack goes to the command relay (which validates the ack itself). */
  deviceAck(deviceId: string, value: unknown, adapter: string): SinkResult;
  /** A device's OTA status from the adapter that owns it (to the OTA extension); default: refused. */
  otaStatus?(deviceId: string, value: unknown): SinkResult;
  log: Logger;
  clock: Clock;
  timers: Timers;
  /** Builds one adapter from its config; default: the registry table. Tests pass an in-memory adapter to drive the sink directly. */
  create?: (config: AdapterConfig, ctx: AdapterContext) => Promise<DeviceAdapter>;
}

export interface AdapterStats {
  kind: string;
  /** Devices in the registry that this adapter announced. */
  devices: number;
  /** Calls into the sink, before validation. */
  handedIn: { states: number; wills: number; telemetry: number; events: number; acks: number };
  /** Of those, refused by the agent's validation. */
  rejected: number;
  commands: { sent: number; sendFailed: number };
  /** The adapter's own counters (port, connected clients…). */
  transport: Record<string, number | string>;
}

interface Instance {
  name: string;
  adapter: DeviceAdapter;
  handedIn: AdapterStats['handedIn'];
  commands: AdapterStats['commands'];
}

export class AdapterSet {
  readonly #instances: Instance[];
  readonly #byName: Map<string, Instance>;
  readonly #registry: DeviceRegistry;
  readonly #rejections: Rejections;
  /** Shared with the sinks: once set, whatever adapters still hand in is dropped. */
  readonly #life: { stopped: boolean };

  private constructor(instances: Instance[], deps: AdapterSetDeps, life: { stopped: boolean }) {
    this.#instances = instances;
    this.#life = life;
    this.#byName = new Map(instances.map((i) => [i.name, i]));
    this.#registry = deps.registry;
    this.#rejections = deps.rejections;
  }

  /** Starts the adapters in config order; if one fails, the ones already started are stopped and the error is rethrown. */
  static async start(configs: readonly AdapterConfig[], deps: AdapterSetDeps): Promise<AdapterSet> {
    const names = adapterInstanceNames(configs);
    const instances: Instance[] = [];
    const life = { stopped: false };
    try {
      for (const [i, config] of configs.entries()) {
        const name = names[i]!;
        const handedIn = { states: 0, wills: 0, telemetry: 0, events: 0, acks: 0 };
        const logger = deps.log.child({ adapter: name });
        const sink = guardedSink(name, handedIn, deps, logger, life);
        const adapter = await (deps.create ?? createAdapter)(config, { name, sink, logger, clock: deps.clock, timers: deps.timers });
        instances.push({ name, adapter, handedIn, commands: { sent: 0, sendFailed: 0 } });
      }
    } catch (err) {
      life.stopped = true;
      await Promise.allSettled(instances.map((i) => i.adapter.stop()));
      throw err;
    }
    return new AdapterSet(instances, deps, life);
  }

  /** Sends through the adapter that announced the device. */
  async send(deviceId: string, cmd: DeviceCommand): Promise<void> {
    const owner = this.#registry.get(deviceId)?.adapter;
    const instance = owner === undefined ? undefined : this.#byName.get(owner);
    if (instance === undefined) throw new Error(`no adapter owns device ${deviceId}`);
    try {
      await instance.adapter.sendCommand(deviceId, cmd);
      instance.commands.sent++;
    } catch (err) {
      instance.commands.sendFailed++;
      throw err;
    }
  }

  /** Sends an OTA message through the adapter that announced the device, if it carries OTA. */
  async sendOta(deviceId: string, msg: LocalOta): Promise<void> {
    const owner = this.#registry.get(deviceId)?.adapter;
    const instance = owner === undefined ? undefined : this.#byName.get(owner);
    if (instance === undefined) throw new Error(`no adapter owns device ${deviceId}`);
    if (instance.adapter.sendOta === undefined) throw new Error(`adapter ${instance.name} (${instance.adapter.kind}) carries no OTA`);
    await instance.adapter.sendOta(deviceId, msg);
  }

  /** Ports of the adapters that listen, by instance name. */
  ports(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const i of this.#instances) if (i.adapter.listenPort !== undefined) out[i.name] = i.adapter.listenPort;
    return out;
  }

  /** The first listening adapter's port in config order (what `agent.localPort` reports); 0 when none listens. */
  firstListenPort(): number {
    return this.#instances.find((i) => i.adapter.listenPort !== undefined)?.adapter.listenPort ?? 0;
  }

  stats(): Record<string, AdapterStats> {
    const devices = new Map<string, number>();
    for (const d of this.#registry.snapshot()) devices.set(d.adapter, (devices.get(d.adapter) ?? 0) + 1);
    const out: Record<string, AdapterStats> = {};
    for (const i of this.#instances) {
      out[i.name] = {
        kind: i.adapter.kind,
        devices: devices.get(i.name) ?? 0,
        handedIn: { ...i.handedIn },
        rejected: this.#rejections.forAdapter(i.name),
        commands: { ...i.commands },
        transport: i.adapter.stats(),
      };
    }
    return out;
  }

  /** Stops every adapter; later sink calls (in-flight LAN messages) are dropped. */
  async stop(): Promise<void> {
    this.#life.stopped = true;
    await Promise.allSettled(this.#instances.map((i) => i.adapter.stop()));
  }
}

/** The sink one adapter instance writes to: id check, ownership for acks, counting, and no throw past it. */
function guardedSink(
  name: string,
  handedIn: AdapterStats['handedIn'],
  deps: AdapterSetDeps,
  log: Logger,
  life: { readonly stopped: boolean },
): AdapterSink {
  const entry =
    (source: RejectionSource, count: keyof AdapterStats['handedIn'], handle: (deviceId: string, value: unknown) => SinkResult) =>
    (deviceId: string, value?: unknown): SinkResult => {
      // Stopping: nothing more is stored, so nothing more may be acknowledged; the device resends to the next run.
      if (life.stopped) return 'retry';
      handedIn[count]++;
      try {
        // The id ends up in northbound topics and as a tag value: it must be topic-safe whatever the adapter.
        if (typeof deviceId !== 'string' || !isValidId(deviceId)) {
          deps.rejections.reject(
            source,
            { path: 'device', reason: `not a valid device id: ${JSON.stringify(deviceId)}` },
            { adapter: name },
          );
          return 'rejected';
        }
        return handle(deviceId, value);
      } catch (err) {
        // Not stored (spool full, disk error): the device is not acknowledged and resends.
        if (err instanceof SpoolFullError)
          log.warn(
            { err: err.message, device: deviceId },
            `${count} not stored: spool full; the device is not acknowledged and will resend`,
          );
        else
          log.error(
            { err: (err as Error).message, device: deviceId },
            `handling ${count} failed; the device is not acknowledged and will resend`,
          );
        return 'retry';
      }
    };
  return {
    state: entry('deviceState', 'states', (id, v) => deps.inbox.state(name, id, v)),
    will: entry('deviceState', 'wills', (id) => deps.inbox.will(name, id)),
    telemetry: entry('deviceTelemetry', 'telemetry', (id, v) => deps.inbox.telemetry(name, id, v)),
    event: entry('deviceEvent', 'events', (id, v) => deps.inbox.event(name, id, v)),
    ack: entry('deviceAck', 'acks', (id, v) => {
      // Only the adapter a command went out through may answer it.
      const mismatch = deps.inbox.ownerMismatch(name, id);
      if (mismatch !== null) {
        deps.rejections.reject('deviceAck', mismatch, { device: id, adapter: name });
        return 'rejected';
      }
      return deps.deviceAck(id, v, name);
    }),
    otaStatus: (deviceId, value) => {
      if (life.stopped) return 'retry';
      // Only the adapter that owns the device speaks for it, and the id must be topic-safe.
      if (typeof deviceId !== 'string' || !isValidId(deviceId) || deps.inbox.ownerMismatch(name, deviceId) !== null) return 'rejected';
      try {
        return deps.otaStatus?.(deviceId, value) ?? 'rejected';
      } catch (err) {
        log.error({ err: (err as Error).message, device: deviceId }, 'handling an OTA status failed');
        return 'rejected';
      }
    },
  };
}
