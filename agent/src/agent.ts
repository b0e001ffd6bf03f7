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
import { CommandRelay, type CommandStats } from './command-relay';
import { DesiredConfigHandler, type AppliedConfig } from './desired-config';
import { DeviceInbox, type InboxStats } from './device-inbox';
import { DeviceRegistry, type DeviceRecord } from './device-registry';
import { attachDimming, schedulerConfigValidator, type DimmingRunner, type DimmingStats } from './dimming-runner';
import { Listeners } from './listeners';
import { LocalEndpoint } from './local-endpoint';
import { NorthLink, type NorthStats } from './north-link';
import { AgentOptionsSchema, type AgentOptions } from './options';
import { Rejections, type RejectionSource } from './rejections';
import { StateStore } from './state-store';
import { TelemetryBuffer, type BatchLimits } from './telemetry-buffer';
import { systemTimers } from './timers';

export const AGENT_VERSION = '0.1.0';

export interface AgentStats {
  gatewayId: string;
  north: NorthStats;
  local: { connectedClients: number; devices: number } & InboxStats;
  rejected: Record<RejectionSource, number> & { total: number };
  batches: { luminaire: number; ap: number; events: number };
  pending: { luminaire: number; ap: number; events: number };
  commands: CommandStats;
  birthSeq: number;
  configVersion: number;
  /** null when the dimming runner is disabled */
  dimming: DimmingStats | null;
}

export interface Agent {
  readonly gatewayId: string;
  /** The port the LAN endpoint listens on (useful with `local.port: 0`). */
  readonly localPort: number;
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

/** Starts the LAN endpoint and the uplink; resolves once devices can connect (the uplink may still be down). */
export async function startAgent(input: AgentOptions): Promise<Agent> {
  const parsed = AgentOptionsSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid agent options: ${formatPayloadError(toPayloadError(parsed.error))}`);
  const opts = parsed.data;
  const gw = opts.gatewayId;
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
  const log: Logger = (opts.logger ?? pino({ level: opts.logLevel })).child({ gateway: gw });
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

  const config = new DesiredConfigHandler({
    clock,
    store,
    rejections,
    log,
    // With dimming on, a scheduler section the engine cannot use is refused and reported to the cloud.
    validateScheduler: opts.schedulerConfigValidator ?? (opts.dimming.enabled ? schedulerConfigValidator : undefined),
    apply: (applied) => {
      if (applied.config.telemetry) {
        limits = { ...applied.config.telemetry };
        for (const b of buffers) b.setLimits(limits);
      }
      listeners.config.emit(applied);
    },
    publishReported: (r: ReportedConfig) => publish(topic('configReported', { gateway: gw }), r, true),
  });
  // A config applied before a restart stays in force.
  if (config.applied.config.telemetry) {
    limits = { ...config.applied.config.telemetry };
    for (const b of buffers) b.setLimits(limits);
  }

  let local: LocalEndpoint | null = null;
  const relay = new CommandRelay({
    clock,
    timers,
    registry,
    rejections,
    log,
    timeoutMs: () => opts.commandTimeoutMs,
    sendToDevice: (deviceId, cmd) => (local ? local.sendCommand(deviceId, cmd) : Promise.reject(new Error('local endpoint down'))),
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
    stateChanged: publishDeviceState,
    luminaireReading: (r) => luminaireBuffer.add(r),
    apReading: (r) => apBuffer.add(r),
    event: (e) => eventBuffer.add(e),
    listeners,
  });

  local = await LocalEndpoint.start(
    opts.local.host,
    opts.local.port,
    {
      localDeviceState: (dev, p) => inbox.state(dev, p),
      localTelemetry: (dev, p) => inbox.telemetry(dev, p),
      localEvent: (dev, p) => inbox.event(dev, p),
      localAck: (dev, p) => relay.handleDeviceAck(dev, p),
    },
    log,
  );

  north = new NorthLink(
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
  north.start();
  const localEndpoint = local;
  const link = north;
  log.info({ localPort: local.port, north: opts.north.url }, 'agent started');

  let stopped = false;
  let dimming: DimmingRunner | null = null;
  const agent: Agent = {
    gatewayId: gw,
    localPort: local.port,
    async stop({ abrupt = false } = {}) {
      if (stopped) return;
      stopped = true;
      dimming?.stop();
      relay.close();
      if (!abrupt) {
        for (const b of buffers) b.close();
        // An explicit offline, since a clean DISCONNECT suppresses the will.
        publish(topic('gatewayState', { gateway: gw }), gatewayState('offline', store.get().birthSeq), true);
      }
      await link.stop(abrupt);
      await localEndpoint.close();
      log.info({ abrupt }, 'agent stopped');
    },
    stats: () => ({
      gatewayId: gw,
      north: link.stats(),
      local: { connectedClients: localEndpoint.connectedClients, devices: registry.size, ...inbox.stats() },
      rejected: rejections.counts(),
      batches: { ...batches },
      pending: { luminaire: luminaireBuffer.pending, ap: apBuffer.pending, events: eventBuffer.pending },
      commands: relay.stats(),
      birthSeq: store.get().birthSeq,
      configVersion: config.applied.version,
      dimming: dimming?.stats() ?? null,
    }),
    devices: () => registry.snapshot(),
    commandDevice: (deviceId, action, o) => relay.commandDevice(deviceId, action, o),
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
  if (opts.dimming.enabled) dimming = attachDimming(agent, { ...opts.dimming, clock, timers, logger: log.child({ part: 'dimming' }) });
  return agent;
}
