import { encode, parseJson, topic, type Clock, type DeviceState } from '@poste/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { AllocateBandwidth } from './ap-model';
import { FleetEngine, type GroundTruth } from './fleet-engine';
import type { DeviceSpec } from './scenario';
import type { DeviceOutput, SimDevice, SimFault } from './sim-devices';

export interface DeviceFleetOptions {
  devices: readonly DeviceSpec[];
  /** The gateway agent's local MQTT endpoint, or one per device (e.g. per gateway). */
  url: string | ((device: DeviceSpec) => string);
  clock: Clock;
  /** Sim instant of the first step (default: clock.now() at construction). */
  startMs?: number;
  stepS?: number;
  reportIntervalS?: number;
  allocate?: AllocateBandwidth;
  /** Real ms between catch-up ticks of the timer (default 20). */
  tickMs?: number;
  /** Upper bound of sim steps per tick so a huge backlog never blocks the event loop for long. */
  maxStepsPerTick?: number;
  /**
   * Backpressure: no new sim step while this many QoS 1 publishes await their PUBACK (default
   * 2,000). Sim time then lags the clock instead of piling messages up in memory; readings stay
   * deterministic because steps are fixed.
   */
  maxPendingPublishes?: number;
  /** Extra MQTT options (credentials, keepalive…); clientId, will and clean are set per device. */
  mqtt?: Partial<IClientOptions>;
  onError?: (err: Error, deviceId: string) => void;
}

export interface FleetCounters {
  telemetry: number;
  events: number;
  births: number;
  commands: number;
  acks: number;
}

/** One device's MQTT session to its gateway's local endpoint, with retained birth and will. */
class DeviceLink {
  client: MqttClient | undefined;
  seq = 0;
  /** This session's unacknowledged publishes (dropped from the fleet's total when the socket dies). */
  pending = 0;
  constructor(
    readonly device: SimDevice,
    readonly url: string,
  ) {}
}

/**
 * A fleet of simulated devices, each with its own MQTT connection and will, all stepped by one
 * timer that catches the engine up with the (accelerated) clock in fixed sim steps.
 */
export class DeviceFleet {
  readonly engine: FleetEngine;
  readonly counters: FleetCounters = { telemetry: 0, events: 0, births: 0, commands: 0, acks: 0 };
  private readonly options: DeviceFleetOptions;
  private readonly links = new Map<string, DeviceLink>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** QoS 1 publishes handed to mqtt.js and not yet acknowledged by the endpoint. */
  private pending = 0;
  private drainWaiters: (() => void)[] = [];
  /** Sim instant the timer will not step past (runUntil). */
  private horizonMs = Number.POSITIVE_INFINITY;
  private horizonWaiters: { at: number; resolve: () => void }[] = [];

  constructor(options: DeviceFleetOptions) {
    this.options = options;
    const engineOptions = {
      devices: options.devices,
      startMs: options.startMs ?? options.clock.now(),
      ...(options.stepS !== undefined ? { stepS: options.stepS } : {}),
      ...(options.reportIntervalS !== undefined ? { reportIntervalS: options.reportIntervalS } : {}),
      ...(options.allocate !== undefined ? { allocate: options.allocate } : {}),
    };
    this.engine = new FleetEngine(engineOptions, (d, o) => this.onOutput(d, o));
    for (const d of this.engine.devices) {
      const url = typeof options.url === 'string' ? options.url : options.url(d.spec);
      this.links.set(d.spec.id, new DeviceLink(d, url));
    }
  }

  /** Connects every powered device (birth on connect) and starts stepping. Resolves when all connected. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all([...this.links.values()].filter((l) => l.device.powered).map((l) => this.connect(l)));
    const tickMs = this.options.tickMs ?? 20;
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref?.();
  }

  /** Catches the engine up with the clock; returns the number of sim steps taken. */
  tick(): number {
    const target = Math.min(this.options.clock.now(), this.horizonMs);
    const maxSteps = this.options.maxStepsPerTick ?? 5_000;
    const maxPending = this.options.maxPendingPublishes ?? 2_000;
    let steps = 0;
    while (steps < maxSteps && this.pending < maxPending && this.engine.stepTo(target, 1) === 1) steps++;
    for (const w of this.horizonWaiters.filter((x) => this.engine.nowMs + this.engine.stepMs > x.at)) {
      this.horizonWaiters.splice(this.horizonWaiters.indexOf(w), 1);
      w.resolve();
    }
    return steps;
  }

  /** Unacknowledged QoS 1 publishes right now. */
  get pendingPublishes(): number {
    return this.pending;
  }

  /** Resolves when every publish so far has been acknowledged by the endpoint. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Runs (with the clock) until sim time reaches `simMs`, then holds there and resolves once every
   * reading is acknowledged: the moment to compare a store's energy with groundTruth().
   */
  async runUntil(simMs: number): Promise<void> {
    this.horizonMs = simMs;
    await new Promise<void>((resolve) => {
      this.horizonWaiters.push({ at: simMs, resolve });
      this.tick();
    });
    await this.drain();
  }

  /** Lets the fleet follow the clock again after runUntil. */
  clearHorizon(): void {
    this.horizonMs = Number.POSITIVE_INFINITY;
  }

  /** Graceful: publishes a retained offline state and disconnects cleanly (no will). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(
      [...this.links.values()].map(async (l) => {
        const c = l.client;
        if (!c) return;
        l.client = undefined;
        if (c.connected) {
          const off = l.device.birth(l.seq, this.options.clock.now(), 'offline');
          await c.publishAsync(this.stateTopic(l), encode(off), { qos: 1, retain: true }).catch(() => {});
        }
        await c.endAsync().catch(() => {});
        this.pending -= l.pending;
        l.pending = 0;
      }),
    );
    this.notifyDrained();
  }

  /** Abrupt: every socket destroyed without DISCONNECT, so the broker fires each will. */
  kill(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) this.dropConnection(l);
  }

  injectFault(deviceId: string, fault: SimFault): void {
    this.engine.injectFault(deviceId, fault);
  }

  clearFault(deviceId: string, fault: SimFault): void {
    this.engine.clearFault(deviceId, fault);
  }

  groundTruth(): GroundTruth {
    return this.engine.groundTruth();
  }

  /** Whether a device currently has a live MQTT session. */
  isConnected(deviceId: string): boolean {
    return this.links.get(deviceId)?.client?.connected ?? false;
  }

  private stateTopic(l: DeviceLink): string {
    return topic('localDeviceState', { device: l.device.spec.id });
  }

  private connect(l: DeviceLink): Promise<void> {
    const id = l.device.spec.id;
    // The will carries the seq of the birth of the same session, so a consumer can pair them.
    const willPayload = (): Buffer => encode(l.device.birth(l.seq + 1, this.options.clock.now(), 'offline'));
    const client = mqtt.connect(l.url, {
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      keepalive: 30,
      ...this.options.mqtt,
      clientId: id,
      clean: true,
      will: { topic: this.stateTopic(l), payload: willPayload(), qos: 1, retain: true },
    });
    l.client = client;
    const cmdTopic = topic('localCommand', { device: id });
    client.on('reconnect', () => {
      if (client.options.will) client.options.will.payload = willPayload();
    });
    // Birth on every (re)connect, so an agent that restarted learns the device is back.
    client.on('connect', () => {
      if (l.client !== client) return;
      l.seq++;
      this.publishBirth(l, client);
      client.subscribe(cmdTopic, { qos: 1 }, (err) => {
        if (err) this.options.onError?.(err, id);
      });
    });
    client.on('message', (t, payload) => {
      if (t !== cmdTopic || l.client !== client) return;
      this.onCommand(l, client, payload);
    });
    client.on('error', (err) => this.options.onError?.(err, id));
    return new Promise((resolve) => {
      if (client.connected) resolve();
      else client.once('connect', () => resolve());
    });
  }

  /** QoS 1 publish counted until PUBACK (or failure), for backpressure and drain(). */
  private publishCounted(l: DeviceLink, client: MqttClient, t: string, payload: Buffer, retain = false): void {
    this.pending++;
    l.pending++;
    client.publish(t, payload, { qos: 1, retain }, () => {
      // A callback from a session already dropped was discounted in dropConnection.
      if (l.client !== client) return;
      l.pending--;
      this.pending--;
      this.notifyDrained();
    });
  }

  private notifyDrained(): void {
    if (this.pending === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  private publishBirth(l: DeviceLink, client: MqttClient): void {
    const state: DeviceState = l.device.birth(l.seq, this.options.clock.now(), 'online');
    this.counters.births++;
    this.publishCounted(l, client, this.stateTopic(l), encode(state), true);
  }

  private onCommand(l: DeviceLink, client: MqttClient, payload: Buffer): void {
    this.counters.commands++;
    const json = parseJson(payload);
    if (!json.ok) return; // no id to ack; the agent times the command out
    // Commands take effect from the current sim step (power changes only at step boundaries).
    const ack = this.engine.handleCommand(l.device.spec.id, json.value, this.options.clock.now());
    if (!ack) return;
    this.counters.acks++;
    this.publishCounted(l, client, topic('localAck', { device: l.device.spec.id }), encode(ack));
  }

  private onOutput(d: SimDevice, o: DeviceOutput): void {
    const l = this.links.get(d.spec.id);
    if (!l) return;
    switch (o.type) {
      case 'telemetry':
        this.counters.telemetry++;
        // mqtt.js queues QoS 1 publishes while reconnecting, like a controller's small buffer.
        if (l.client) this.publishCounted(l, l.client, topic('localTelemetry', { device: d.spec.id }), encode(o.payload));
        return;
      case 'event':
        this.counters.events++;
        if (l.client) this.publishCounted(l, l.client, topic('localEvent', { device: d.spec.id }), encode(o.payload));
        return;
      case 'rebirth':
        // Same session, same seq: the will still pairs with this birth.
        if (l.client?.connected) this.publishBirth(l, l.client);
        return;
      case 'powerLost':
        this.dropConnection(l);
        return;
      case 'powerRestored':
        if (this.running) void this.connect(l);
        return;
    }
  }

  /** Destroys the socket without DISCONNECT: the broker publishes the will. */
  private dropConnection(l: DeviceLink): void {
    const c = l.client;
    if (!c) return;
    l.client = undefined;
    // Whatever was in flight on this socket is lost with it, like on a real power cut.
    this.pending -= l.pending;
    l.pending = 0;
    this.notifyDrained();
    c.stream?.destroy();
    c.end(true);
  }
}
