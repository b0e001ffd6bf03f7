import { pino, type Logger } from 'pino';
import {
  encode,
  formatPayloadError,
  systemClock,
  toPayloadError,
  topic,
  type Ack,
  type ApReading,
  type CommandAction,
  type DeviceAck,
  type DeviceEvent,
  type GatewayState,
  type LocalTelemetry,
  type LuminaireReading,
  type ReportedConfig,
} from '@poste/protocol';
import { DIMMING_EXTENSION_NAME, dimmingExtension } from '../extensions/dimming';
import { NorthLink, type NorthStats } from '../uplink/north-link';
import { TelemetryBuffer, type BatchLimits } from '../uplink/telemetry-buffer';
import { AdapterSet, type AdapterStats } from './adapter-set';
import { CommandRelay, type CommandStats } from './command-relay';
import { DesiredConfigHandler, type AppliedConfig } from './desired-config';
import { DeviceInbox, type InboxStats } from './device-inbox';
import { DeviceRegistry, type DeviceRecord } from './device-registry';
import { ExtensionSet, checkExtensionNames, combinedSchedulerValidator, type ExtensionStats } from './extension-set';
import { Listeners } from './listeners';
import { AgentOptionsSchema, type AgentOptions, type ResolvedAgentOptions } from './options';
import { Rejections, type RejectionSource } from './rejections';
import { migrateAgentSettings, pathBeforeMigration, type MigrationResult } from './settings-migration';
import { StateStore } from './state-store';
import { systemTimers } from './timers';

export const AGENT_VERSION = '0.1.0';

export interface AgentStats {
  gatewayId: string;
  north: NorthStats;
  /** What the agent accepted from all adapters, and the registry size. */
  inbox: { devices: number } & InboxStats;
  /** Per adapter instance (key = instance name: the kind, or `kind-2`… / the config `name`). */
  adapters: Record<string, AdapterStats>;
  rejected: Record<RejectionSource, number> & { total: number };
  batches: { luminaire: number; ap: number; events: number };
  pending: { luminaire: number; ap: number; events: number };
  commands: CommandStats;
  birthSeq: number;
  /** Version of the desired config in force (0 = none yet). */
  configVersion: number;
  /** Per extension (key = extension name); `dimming` when the dimming extension runs. */
  extensions: ExtensionStats;
}

export interface Agent {
  readonly gatewayId: string;
  /** The port of the first adapter that listens (the `poste` LAN broker; useful with port 0); 0 when none listens. */
  readonly localPort: number;
  /** Ports of every listening adapter, by instance name. */
  adapterPorts(): Record<string, number>;
  /** Graceful: flush batches, publish offline, disconnect. Abrupt: drop the uplink as a crash would (the broker publishes the will). */
  stop(opts?: { abrupt?: boolean }): Promise<void>;
  stats(): AgentStats;
  /** Registry snapshot. */
  devices(): DeviceRecord[];
  /** Sends one action to one device and waits for its ack; never rejects (timeouts become outcome 'timeout'). */
  commandDevice(deviceId: string, action: CommandAction, opts?: { id?: string; expiresAt?: number }): Promise<DeviceAck>;
  onDeviceEvent(listener: (event: DeviceEvent) => void): () => void;
  onTelemetry(listener: (reading: LocalTelemetry) => void): () => void;
  onDeviceState(listener: (device: DeviceRecord) => void): () => void;
  onConfigApplied(listener: (config: AppliedConfig) => void): () => void;
  /** The config in force (version 0 = none received yet). */
  appliedConfig(): AppliedConfig;
  /** The `scheduler` section of the config in force, for the scheduler engine to validate and use. */
  schedulerConfig(): unknown;
  /** Publishes a fresh gateway birth and every device state (what a `rebirth` command does). */
  rebirth(): void;
  /** Sends whatever telemetry and events are buffered now. */
  flush(): void;
  whenNorthConnected(): Promise<void>;
  readonly northConnected: boolean;
}

/** Migrates (settings-migration.ts) and validates startAgent's input; errors name the path the caller wrote. */
function resolveOptions(input: AgentOptions): { opts: ResolvedAgentOptions; migration: Extract<MigrationResult, { ok: true }> } {
  const migration = migrateAgentSettings(input);
  if (!migration.ok) throw new Error(`invalid agent options: ${formatPayloadError(migration.error)}`);
  const parsed = AgentOptionsSchema.safeParse(migration.settings);
  if (!parsed.success) {
    const e = toPayloadError(parsed.error);
    throw new Error(`invalid agent options: ${formatPayloadError({ ...e, path: pathBeforeMigration(e.path, migration.renamed) })}`);
  }
  return { opts: parsed.data, migration };
}

/** Starts the adapters, the uplink and the extensions; resolves once devices can connect (the uplink may still be down). */
export async function startAgent(input: AgentOptions): Promise<Agent> {
  const { opts, migration } = resolveOptions(input);
  const gw = opts.gatewayId;
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
  const log: Logger = (opts.logger ?? pino({ level: opts.logLevel })).child({ gateway: gw });
  for (const note of migration.notes) log.info({ from: migration.from, to: migration.to }, `agent settings migrated: ${note}`);

  // `dimming: {...}` in the options adds the built-in dimming extension, unless the caller passed one.
  const extensions = [...(opts.extensions ?? [])];
  if (opts.dimming.enabled && !extensions.some((e) => e.name === DIMMING_EXTENSION_NAME)) {
    const { enabled: _enabled, ...settings } = opts.dimming;
    extensions.push(dimmingExtension(settings));
  }
  checkExtensionNames(extensions);

  const store = new StateStore(opts.dataDir);
  const registry = new DeviceRegistry();
  const rejections = new Rejections(log);
  const listeners = {
    deviceState: new Listeners<DeviceRecord>('deviceState', log),
    telemetry: new Listeners<LocalTelemetry>('telemetry', log),
    deviceEvent: new Listeners<DeviceEvent>('deviceEvent', log),
    config: new Listeners<AppliedConfig>('config', log),
  };
  const seqs = { luminaire: 0, ap: 0, events: 0 };
  const batches = { luminaire: 0, ap: 0, events: 0 };
  let limits: BatchLimits = { ...opts.telemetry };

  // Late-bound: the north link needs hooks that publish through it.
  let north: NorthLink | null = null;
  const publish = (t: string, value: unknown, retain = false): void => {
    void north?.publish(t, encode(value), retain);
  };

  const gatewayState = (status: GatewayState['status'], seq: number): GatewayState => ({
    v: 1,
    status,
    seq,
    ts: clock.now(),
    agentVersion: AGENT_VERSION,
    devices: registry.counts(),
  });
  const publishDeviceState = (d: DeviceRecord): void =>
    publish(topic('deviceState', { gateway: gw, device: d.id }), d.state, true);
  // seq numbers the MQTT session (protocol state.ts): a new connection takes the next one — the
  // value its will already carries — while a rebirth inside the session repeats it.
  const rebirth = (): void => {
    publish(topic('gatewayState', { gateway: gw }), gatewayState('online', store.get().birthSeq), true);
    for (const d of registry.snapshot()) publishDeviceState(d);
  };
  const birth = (): void => {
    store.update({ birthSeq: store.get().birthSeq + 1 });
    rebirth();
  };

  const luminaireBuffer = new TelemetryBuffer<LuminaireReading>(limits, timers, (readings) => {
    batches.luminaire++;
    publish(topic('luminaireTelemetry', { gateway: gw }), { v: 1, seq: seqs.luminaire++, readings });
  });
  const apBuffer = new TelemetryBuffer<ApReading>(limits, timers, (readings) => {
    batches.ap++;
    publish(topic('apTelemetry', { gateway: gw }), { v: 1, seq: seqs.ap++, readings });
  });
  const eventBuffer = new TelemetryBuffer<DeviceEvent>(limits, timers, (events) => {
    batches.events++;
    publish(topic('events', { gateway: gw }), { v: 1, seq: seqs.events++, events });
  });
  const buffers = [luminaireBuffer, apBuffer, eventBuffer] as const;
  const setLimits = (next: BatchLimits): void => {
    limits = { ...next };
    for (const b of buffers) b.setLimits(limits);
  };

  const config = new DesiredConfigHandler({
    clock,
    store,
    rejections,
    log,
    // Extensions that use the scheduler section (dimming) refuse one they cannot use; the cloud hears why.
    validateScheduler: combinedSchedulerValidator(extensions, opts.schedulerConfigValidator),
    apply: (applied) => {
      if (applied.config.telemetry) setLimits(applied.config.telemetry);
      listeners.config.emit(applied);
    },
    publishReported: (r: ReportedConfig) => publish(topic('configReported', { gateway: gw }), r, true),
  });
  // A config applied before a restart stays in force.
  if (config.applied.config.telemetry) setLimits(config.applied.config.telemetry);

  let adapters: AdapterSet | null = null;
  const relay = new CommandRelay({
    clock,
    timers,
    registry,
    rejections,
    log,
    timeoutMs: () => opts.commandTimeoutMs,
    sendToDevice: (deviceId, cmd) => (adapters ? adapters.send(deviceId, cmd) : Promise.reject(new Error('adapters not running'))),
    publishAck: (ack: Ack) => publish(topic('ack', { gateway: gw }), ack),
    gatewayAction: async (action) => {
      if (action.action === 'rebirth') {
        rebirth();
        return { outcome: 'done' };
      }
      return { outcome: 'rejected', detail: `action ${action.action} does not apply to the gateway` };
    },
  });

  const inbox = new DeviceInbox({
    registry,
    rejections,
    clock,
    stateChanged: publishDeviceState,
    luminaireReading: (r) => luminaireBuffer.add(r),
    apReading: (r) => apBuffer.add(r),
    event: (e) => eventBuffer.add(e),
    listeners,
  });

  adapters = await AdapterSet.start(opts.adapters, {
    inbox,
    registry,
    rejections,
    deviceAck: (deviceId, value, adapter) => relay.handleDeviceAck(deviceId, value, adapter),
    log,
    clock,
    timers,
  });
  const adapterSet = adapters;

  const link = new NorthLink(
    gw,
    opts.north,
    {
      command: (p) => void relay.handleCommand(p),
      configDesired: (p) => config.handle(p),
    },
    {
      willPayload: () => encode(gatewayState('offline', store.get().birthSeq + 1)),
      onConnected: birth,
    },
    timers,
    log,
  );
  north = link;
  link.start();

  const commandDevice: Agent['commandDevice'] = (deviceId, action, o) => relay.commandDevice(deviceId, action, o);
  let extensionSet: ExtensionSet | null = null;
  let stopped = false;
  const shutdown = async (abrupt: boolean): Promise<void> => {
    await extensionSet?.stop();
    relay.close();
    if (!abrupt) {
      for (const b of buffers) b.close();
      // An explicit offline, since a clean DISCONNECT suppresses the will.
      publish(topic('gatewayState', { gateway: gw }), gatewayState('offline', store.get().birthSeq), true);
    }
    await link.stop(abrupt);
    await adapterSet.stop();
  };

  try {
    extensionSet = await ExtensionSet.start(extensions, {
      gatewayId: gw,
      clock,
      timers,
      log,
      listeners,
      devices: () => registry.snapshot(),
      commandDevice,
      appliedConfig: () => config.applied,
      schedulerConfig: () => config.applied.config.scheduler,
    });
  } catch (err) {
    await shutdown(false);
    throw err;
  }
  const running = extensionSet;
  const localPort = adapterSet.firstListenPort();
  log.info({ adapters: adapterSet.ports(), extensions: extensions.map((e) => e.name), north: opts.north.url }, 'agent started');

  return {
    gatewayId: gw,
    localPort,
    adapterPorts: () => adapterSet.ports(),
    async stop({ abrupt = false } = {}) {
      if (stopped) return;
      stopped = true;
      await shutdown(abrupt);
      log.info({ abrupt }, 'agent stopped');
    },
    stats: () => ({
      gatewayId: gw,
      north: link.stats(),
      inbox: { devices: registry.size, ...inbox.stats() },
      adapters: adapterSet.stats(),
      rejected: rejections.counts(),
      batches: { ...batches },
      pending: { luminaire: luminaireBuffer.pending, ap: apBuffer.pending, events: eventBuffer.pending },
      commands: relay.stats(),
      birthSeq: store.get().birthSeq,
      configVersion: config.applied.version,
      extensions: running.stats(),
    }),
    devices: () => registry.snapshot(),
    commandDevice,
    onDeviceEvent: (l) => listeners.deviceEvent.add(l),
    onTelemetry: (l) => listeners.telemetry.add(l),
    onDeviceState: (l) => listeners.deviceState.add(l),
    onConfigApplied: (l) => listeners.config.add(l),
    appliedConfig: () => config.applied,
    schedulerConfig: () => config.applied.config.scheduler,
    rebirth,
    flush: () => {
      for (const b of buffers) b.flush();
    },
    whenNorthConnected: () => link.whenConnected(),
    get northConnected() {
      return link.connected;
    },
  };
}
