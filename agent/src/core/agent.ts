import './mqtt-packet-settings'; // before any MQTT packet is written: see the module
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import {
  encode,
  formatPayloadError,
  systemClock,
  toPayloadError,
  topic,
  type Ack,
  type CommandAction,
  type DeviceAck,
  type DeviceEvent,
  type GatewayState,
  type LocalTelemetry,
  type ReportedConfig,
} from '@poste/protocol';
import { BANDWIDTH_EXTENSION_NAME, bandwidthExtension } from '../extensions/bandwidth';
import { DIMMING_EXTENSION_NAME, dimmingExtension } from '../extensions/dimming';
import { Delivery, type BatchLimits, type DeliveryStats } from '../uplink/delivery';
import { brokerUrls } from '../uplink/broker-order';
import { NorthLink, type NorthStats } from '../uplink/north-link';
import { prepareMqttTransports } from './mqtt-connect';
import { AdapterSet, type AdapterStats } from './adapter-set';
import { CommandRelay, type CommandStats } from './command-relay';
import { DesiredConfigHandler, type AppliedConfig } from './desired-config';
import { DeviceInbox, type InboxStats } from './device-inbox';
import { DeviceRegistry, type DeviceRecord } from './device-registry';
import { ExtensionSet, checkExtensionNames, combinedSchedulerValidator, type ExtensionStats } from './extension-set';
import { Listeners } from './listeners';
import { RateMeter, renderMetrics, startMetricsServer, type MetricsServer } from './metrics-server';
import { AgentOptionsSchema, type AgentOptions, type ResolvedAgentOptions } from './options';
import { Rejections, type RejectionSource } from './rejections';
import { migrateAgentSettings, pathBeforeMigration, type MigrationResult } from './settings-migration';
import { StateStore } from './state-store';
import { systemTimers } from './timers';

export const AGENT_VERSION = '0.1.0';

/** A graceful stop sends what it can in this long; the rest stays spooled for the next run. */
const STOP_DRAIN_MS = 3_000;

export interface AgentStats {
  gatewayId: string;
  north: NorthStats;
  /** What the agent accepted from all adapters, and the registry size. */
  inbox: { devices: number } & InboxStats;
  /** Per adapter instance (key = instance name: the kind, or `kind-2`… / the config `name`). */
  adapters: Record<string, AdapterStats>;
  rejected: Record<RejectionSource, number> & { total: number };
  /** Batches published northbound (resends after a reconnect included). */
  batches: { luminaire: number; ap: number; events: number };
  /** Records read from the spools waiting for their batch to fill or age. */
  pending: { luminaire: number; ap: number; events: number };
  /** Store-and-forward: the spools, the in-flight window, replays, drops (uplink/delivery.ts). */
  uplink: DeliveryStats;
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
  /** The port of GET /metrics, or null when `metrics` is not configured. */
  readonly metricsPort: number | null;
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
  /** Sends the batches being formed now, without waiting for them to fill (while the uplink is up). */
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
  // Likewise `bandwidth: {...}` adds the bandwidth extension (plans for the gateway's APs).
  if (opts.bandwidth.enabled && !extensions.some((e) => e.name === BANDWIDTH_EXTENSION_NAME)) {
    const { enabled: _enabled, ...settings } = opts.bandwidth;
    extensions.push(bandwidthExtension(settings));
  }
  checkExtensionNames(extensions);

  const store = new StateStore(opts.dataDir, log);
  const registry = new DeviceRegistry();
  const rejections = new Rejections(log);
  const listeners = {
    deviceState: new Listeners<DeviceRecord>('deviceState', log),
    telemetry: new Listeners<LocalTelemetry>('telemetry', log),
    deviceEvent: new Listeners<DeviceEvent>('deviceEvent', log),
    config: new Listeners<AppliedConfig>('config', log),
  };
  // OTA traffic (extensions/ota): cloud jobs and chunks, link-up, device answers.
  const ota = {
    job: new Listeners<Buffer>('otaJob', log),
    chunk: new Listeners<Buffer>('otaChunk', log),
    northConnected: new Listeners<void>('northConnected', log),
    deviceStatus: new Listeners<{ deviceId: string; payload: unknown }>('otaDeviceStatus', log),
  };

  // Late-bound: the north link needs hooks that publish through it. Only retained state goes
  // straight to the link (skipped while it is down, republished by every birth); everything else
  // goes through the spools and the delivery.
  let north: NorthLink | null = null;
  const publishState = (t: string, value: unknown): void => north?.publishState(t, encode(value), true);

  const gatewayState = (status: GatewayState['status'], seq: number): GatewayState => ({
    v: 1,
    status,
    seq,
    ts: clock.now(),
    agentVersion: AGENT_VERSION,
    devices: registry.counts(),
  });
  const publishDeviceState = (d: DeviceRecord): void => publishState(topic('deviceState', { gateway: gw, device: d.id }), d.state);

  const delivery = new Delivery({
    gatewayId: gw,
    dataDir: opts.dataDir,
    options: opts.spool,
    limits: { ...opts.telemetry },
    link: {
      get connected() {
        return north?.connected ?? false;
      },
      publishTracked: (t, p, done) => north?.publishTracked(t, p, done) ?? false,
    },
    clock,
    timers,
    log,
  });
  const setLimits = (next: BatchLimits): void => delivery.setLimits(next);

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
    publishReported: (r: ReportedConfig) => {
      lastReported = r;
      publishState(topic('configReported', { gateway: gw }), r);
    },
  });
  // A config applied before a restart stays in force.
  if (config.applied.config.telemetry) setLimits(config.applied.config.telemetry);

  // The reported config is state too: the last report of this run, else the config in force from
  // the data dir, goes out with every birth, so the cloud learns it even if it was made offline.
  let lastReported: ReportedConfig | null = null;
  const reportedForBirth = (): ReportedConfig | null =>
    lastReported ?? (config.applied.version > 0 ? { v: 1, version: config.applied.version, ts: clock.now(), status: 'applied' } : null);

  // seq numbers the MQTT session (protocol state.ts): a new connection takes the next one — the
  // value its will already carries — while a rebirth inside the session repeats it.
  const rebirth = (): void => {
    publishState(topic('gatewayState', { gateway: gw }), gatewayState('online', store.get().birthSeq));
    for (const d of registry.snapshot()) publishDeviceState(d);
    const reported = reportedForBirth();
    if (reported !== null) publishState(topic('configReported', { gateway: gw }), reported);
  };
  const birth = (): void => {
    store.update({ birthSeq: store.get().birthSeq + 1 });
    rebirth();
  };

  let adapters: AdapterSet | null = null;
  const relay = new CommandRelay({
    clock,
    timers,
    registry,
    rejections,
    log,
    timeoutMs: () => opts.commandTimeoutMs,
    sendToDevice: (deviceId, cmd) => (adapters ? adapters.send(deviceId, cmd) : Promise.reject(new Error('adapters not running'))),
    publishAck: (ack: Ack) => {
      try {
        delivery.appendAck(ack);
      } catch (err) {
        // Counted in stats().uplink.refused and /metrics; the cloud sees no ack for this command.
        log.error({ err: (err as Error).message, id: ack.id }, 'command ack not spooled: it will not reach the cloud');
      }
    },
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
    luminaireReading: (r) => delivery.appendLuminaire(r),
    apReading: (r) => delivery.appendAp(r),
    event: (e) => delivery.appendEvent(e),
    listeners,
  });

  try {
    adapters = await AdapterSet.start(opts.adapters, {
      inbox,
      registry,
      rejections,
      deviceAck: (deviceId, value, adapter) => (relay.handleDeviceAck(deviceId, value, adapter) ? 'accepted' : 'rejected'),
      otaStatus: (deviceId, payload) => {
        ota.deviceStatus.emit({ deviceId, payload });
        return 'accepted';
      },
      log,
      clock,
      timers,
    });
  } catch (err) {
    relay.close();
    delivery.close();
    throw err;
  }
  const adapterSet = adapters;

  // ws:// and wss:// brokers need MQTT.js's WebSocket transport, loaded only then (mqtt-connect.ts).
  await prepareMqttTransports(brokerUrls(opts.north.url));
  const link = new NorthLink(
    gw,
    opts.north,
    {
      command: (p) => void relay.handleCommand(p),
      configDesired: (p) => config.handle(p),
      otaJob: (p) => ota.job.emit(p),
      otaChunk: (p) => ota.chunk.emit(p),
    },
    {
      willPayload: () => encode(gatewayState('offline', store.get().birthSeq + 1)),
      // Subscribed already (the link waits for the SUBACK): birth and states, then the backlog.
      onConnected: () => {
        birth();
        delivery.connected();
        ota.northConnected.emit();
      },
      onDisconnected: () => delivery.disconnected(),
    },
    timers,
    log,
  );
  north = link;
  link.start();

  const commandDevice: Agent['commandDevice'] = (deviceId, action, o) => relay.commandDevice(deviceId, action, o);
  let extensionSet: ExtensionSet | null = null;
  let metricsServer: MetricsServer | null = null;
  let replayMeter: RateMeter | null = null;
  let stopped = false;
  const shutdown = async (abrupt: boolean): Promise<void> => {
    await extensionSet?.stop();
    relay.close();
    if (!abrupt) {
      // What is spooled and not sent in this time stays in the spool for the next run (on disk).
      await delivery.drain(STOP_DRAIN_MS);
      // An explicit offline, since a clean DISCONNECT suppresses the will.
      publishState(topic('gatewayState', { gateway: gw }), gatewayState('offline', store.get().birthSeq));
    }
    await link.stop(abrupt);
    await adapterSet.stop();
    delivery.close();
    replayMeter?.stop();
    await metricsServer?.close();
  };

  const stats = (): AgentStats => {
    const uplink = delivery.stats();
    return {
      gatewayId: gw,
      north: link.stats(),
      inbox: { devices: registry.size, ...inbox.stats() },
      adapters: adapterSet.stats(),
      rejected: rejections.counts(),
      batches: { luminaire: uplink.batches.luminaire, ap: uplink.batches.ap, events: uplink.batches.events },
      pending: { luminaire: uplink.pending.luminaire, ap: uplink.pending.ap, events: uplink.pending.events },
      uplink,
      commands: relay.stats(),
      birthSeq: store.get().birthSeq,
      configVersion: config.applied.version,
      extensions: extensionSet?.stats() ?? {},
    };
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
      ota: {
        ...ota,
        publishStatus: (s) => {
          if (!link.connected) return false;
          link.publishState(topic('otaStatus', { gateway: gw }), encode(s), false);
          return true;
        },
        sendToDevice: (deviceId, msg) => adapterSet.sendOta(deviceId, msg),
      },
    });
    if (opts.metrics !== undefined) {
      const meter = new RateMeter(() => delivery.stats().replayedRecords);
      replayMeter = meter;
      metricsServer = await startMetricsServer(opts.metrics.host, opts.metrics.port, () => renderMetrics(stats(), meter.perSecond()), log);
    }
  } catch (err) {
    await shutdown(false);
    throw err;
  }
  const localPort = adapterSet.firstListenPort();
  const metricsPort = metricsServer?.port ?? null;
  log.info(
    {
      adapters: adapterSet.ports(),
      extensions: extensions.map((e) => e.name),
      north: opts.north.url,
      spool: delivery.durable ? join(opts.dataDir ?? '', 'spool') : 'memory (not durable)',
    },
    'agent started',
  );

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
    metricsPort,
    stats,
    devices: () => registry.snapshot(),
    commandDevice,
    onDeviceEvent: (l) => listeners.deviceEvent.add(l),
    onTelemetry: (l) => listeners.telemetry.add(l),
    onDeviceState: (l) => listeners.deviceState.add(l),
    onConfigApplied: (l) => listeners.config.add(l),
    appliedConfig: () => config.applied,
    schedulerConfig: () => config.applied.config.scheduler,
    rebirth,
    flush: () => delivery.flush(),
    whenNorthConnected: () => link.whenConnected(),
    get northConnected() {
      return link.connected;
    },
  };
}
