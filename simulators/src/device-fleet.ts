import { encode, parseJson, topic, type Clock, type DeviceState } from '@poste/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { DeviceLink, type Held } from './device-link';
import { FleetEngine, type GroundTruth } from './fleet-engine';
import type { DeviceSpec } from './scenario';
import { groupIntoSessions, type SharedSession } from './shared-session';
import type { DeviceOutput, SimDevice, SimFault } from './sim-devices';
import type { FleetSnapshot, HeldMessage } from './snapshot';

/**
 * Makes a snapshot durable (e.g. temp file + fsync + rename). `truth` is the ground truth at the
 * same instant. Readings of a step are published only after the checkpoint that contains them
 * resolved, so nothing published is ever missing from the last durable state.
 */
export type FleetCheckpoint = (snapshot: FleetSnapshot, truth: GroundTruth) => Promise<void>;

export interface DeviceFleetOptions {
  devices: readonly DeviceSpec[];
  /** The gateway agent's local MQTT endpoint, or one per device (e.g. per gateway). */
  url: string | ((device: DeviceSpec) => string);
  clock: Clock;
  /** Sim instant of the first step (default: clock.now() at construction). Ignored with `resume`. */
  startMs?: number;
  stepS?: number;
  reportIntervalS?: number;
  /** Real ms between catch-up ticks of the timer (default 20). */
  tickMs?: number;
  /** Upper bound of sim steps per tick (and per checkpoint) so a backlog never blocks the event loop for long. */
  maxStepsPerTick?: number;
  /**
   * Backpressure: no new sim step while this many readings are held unacknowledged (or waiting for
   * their checkpoint) plus births/acks in flight (default 2,000). Sim time then lags the clock
   * instead of piling messages up in memory; readings stay deterministic because steps are fixed.
   */
  maxPendingPublishes?: number;
  /**
   * Backpressure from further down (e.g. the store falling behind): no new sim step while it
   * returns true. Sim time lags the clock instead of readings piling up anywhere.
   */
  holdWhile?: () => boolean;
  /** Commit before publish (see FleetCheckpoint). Without it, outputs are published as computed. */
  checkpoint?: FleetCheckpoint;
  /** Least real ms between two checkpoints (default 200): steps are batched in between. */
  checkpointIntervalMs?: number;
  /** Continue from a snapshot (a previous checkpoint): counters, faults, schedule, held readings. */
  resume?: FleetSnapshot;
  /** Extra MQTT options (credentials, keepalive…); clientId, will and clean are set per device. */
  mqtt?: Partial<IClientOptions>;
  /**
   * Devices per MQTT connection (default 1: a session and a will per device). Above 1, the devices
   * of one endpoint share sessions like RF-mesh nodes behind a concentrator (shared-session.ts): a
   * large city needs far fewer connections; a node that loses power is reported offline on its
   * state topic instead of by a will.
   */
  devicesPerSession?: number;
  onError?: (err: Error, deviceId: string) => void;
}

export interface FleetCounters {
  telemetry: number;
  events: number;
  births: number;
  commands: number;
  acks: number;
}

export interface FleetStopOptions {
  /** Real ms to wait for held readings to be acknowledged before the last checkpoint (default 2,000). */
  drainMs?: number;
}

interface Staged {
  device: SimDevice;
  output: DeviceOutput;
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref?.())]);

/**
 * A fleet of simulated devices, each with its own MQTT connection and will, all stepped by one
 * timer that catches the engine up with the (accelerated) clock in fixed sim steps.
 */
export class DeviceFleet {
  readonly engine: FleetEngine;
  /** Outputs released to the devices' sessions (telemetry and events include those still held). */
  readonly counters: FleetCounters = { telemetry: 0, events: 0, births: 0, commands: 0, acks: 0 };
  private readonly options: DeviceFleetOptions;
  private readonly links = new Map<string, DeviceLink>();
  private readonly sessions: SharedSession[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Computed, not yet committed by a checkpoint: not published yet. Bounded with `held`. */
  private staged: Staged[] = [];
  /** Readings and events held by devices until acknowledged. */
  private heldTotal = 0;
  /** Births and acks in flight. */
  private controlPending = 0;
  /** State changed outside a step (fault, command): the next tick checkpoints even without steps. */
  private dirty = false;
  private committing: Promise<void> | undefined;
  private lastCommitReal = Number.NEGATIVE_INFINITY;
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
    };
    this.engine = new FleetEngine(engineOptions, (device, output) => this.staged.push({ device, output }));
    for (const d of this.engine.devices) {
      const url = typeof options.url === 'string' ? options.url : options.url(d.spec);
      this.links.set(d.spec.id, new DeviceLink(d, url));
    }
    const perSession = options.devicesPerSession ?? 1;
    if (perSession > 1) this.sessions.push(...groupIntoSessions(this.links.values(), perSession, commandTopicOf));
    if (options.resume) {
      this.engine.restore(options.resume.engine);
      for (const msg of options.resume.held) {
        const l = this.links.get(msg.device);
        if (!l) throw new Error(`DeviceFleet: the snapshot holds a message of unknown device ${msg.device}`);
        l.held.add({ msg, sentOn: undefined });
        this.heldTotal++;
      }
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
    if (this.committing) return 0;
    const checkpoint = this.options.checkpoint;
    if (checkpoint && performance.now() - this.lastCommitReal < (this.options.checkpointIntervalMs ?? 200)) return 0;
    const target = Math.min(this.options.clock.now(), this.horizonMs);
    const maxSteps = this.options.maxStepsPerTick ?? 5_000;
    const maxPending = this.options.maxPendingPublishes ?? 2_000;
    const hold = this.options.holdWhile;
    let steps = 0;
    if (!hold?.()) while (steps < maxSteps && this.pendingPublishes < maxPending && this.engine.stepTo(target, 1) === 1) steps++;
    if (!checkpoint) this.release(this.staged.splice(0));
    else if (steps > 0 || this.dirty || this.staged.length > 0) this.commit(checkpoint);
    this.wakeHorizon();
    return steps;
  }

  /** Readings held or awaiting their checkpoint, plus births and acks in flight. */
  get pendingPublishes(): number {
    return this.heldTotal + this.staged.length + this.controlPending;
  }

  /**
   * Resolves when every publish so far has been acknowledged by the endpoint, except what devices
   * without a session (no supply) hold: they send it once powered again.
   */
  drain(): Promise<void> {
    if (this.undelivered() === 0) return Promise.resolve();
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

  /** The state a checkpoint stores: the engine plus every held and staged reading, oldest first. */
  snapshot(): FleetSnapshot {
    const held: HeldMessage[] = [];
    for (const l of this.links.values()) for (const h of l.held) held.push(h.msg);
    for (const s of this.staged) {
      const m = heldOf(s);
      if (m) held.push(m);
    }
    return { v: 1, engine: this.engine.snapshot(), held };
  }

  /**
   * Graceful: no more steps; what was computed is committed and handed to the endpoint, which gets
   * `drainMs` to acknowledge it; a last checkpoint keeps whatever is still held for the next start;
   * then a retained offline state and a clean disconnect (no will).
   */
  async stop(opts: FleetStopOptions = {}): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    const drainMs = opts.drainMs ?? 2_000;
    await this.committing;
    const checkpoint = this.options.checkpoint;
    if (checkpoint) {
      if (this.staged.length > 0 || this.dirty) await this.commit(checkpoint);
      if (wasRunning) await withTimeout(this.drain(), drainMs);
      await this.commit(checkpoint);
    } else {
      this.release(this.staged.splice(0));
    }
    await Promise.all(
      [...this.links.values()].map(async (l) => {
        const c = l.client;
        if (!c) return;
        l.client = undefined;
        if (c.connected) {
          const off = l.device.birth(l.seq, this.options.clock.now(), 'offline');
          await withTimeout(
            c.publishAsync(this.stateTopic(l), encode(off), { qos: 1, retain: true }).catch(() => {}),
            1_000,
          );
        }
        // A shared session ends once, after all its devices said goodbye (below).
        if (l.shared) {
          this.controlPending -= l.controlPending;
          l.controlPending = 0;
          return;
        }
        await withTimeout(
          c.endAsync().catch(() => {}),
          1_000,
        );
        if (!c.disconnected) c.end(true);
        this.controlPending -= l.controlPending;
        l.controlPending = 0;
      }),
    );
    await Promise.all(
      this.sessions.map(async (s) => {
        const c = s.client;
        s.client = undefined;
        if (!c) return;
        await withTimeout(
          c.endAsync().catch(() => {}),
          1_000,
        );
        if (!c.disconnected) c.end(true);
      }),
    );
    this.notifyDrained();
  }

  /** Abrupt: every socket destroyed without DISCONNECT, so the broker fires each will. */
  kill(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) if (!l.shared) this.dropConnection(l);
    for (const s of this.sessions) this.killShared(s);
  }

  injectFault(deviceId: string, fault: SimFault): void {
    this.engine.injectFault(deviceId, fault);
    this.afterChange();
  }

  clearFault(deviceId: string, fault: SimFault): void {
    this.engine.clearFault(deviceId, fault);
    this.afterChange();
  }

  groundTruth(): GroundTruth {
    return this.engine.groundTruth();
  }

  /** Whether a device currently has a live MQTT session. */
  isConnected(deviceId: string): boolean {
    return this.links.get(deviceId)?.client?.connected ?? false;
  }

  /** Outputs of a fault or command: published at once, or with the next checkpoint. */
  private afterChange(): void {
    if (this.options.checkpoint) this.dirty = true;
    else this.release(this.staged.splice(0));
  }

  /** Writes a checkpoint of the current state, then publishes what it covers; on failure everything stays held. */
  private commit(checkpoint: FleetCheckpoint): Promise<void> {
    this.dirty = false;
    const batch = this.staged.splice(0);
    const snapshot = this.snapshot();
    for (const s of batch) {
      const m = heldOf(s);
      if (m) snapshot.held.push(m);
    }
    const truth = this.engine.groundTruth();
    const done = checkpoint(snapshot, truth).then(
      () => this.release(batch),
      (err: unknown) => {
        // Nothing of the batch is published: it waits for the next successful checkpoint.
        this.staged.unshift(...batch);
        this.dirty = true;
        this.options.onError?.(err instanceof Error ? err : new Error(String(err)), 'checkpoint');
      },
    );
    const committing = done.finally(() => {
      this.committing = undefined;
      this.lastCommitReal = performance.now();
      this.wakeHorizon();
    });
    this.committing = committing;
    return committing;
  }

  private wakeHorizon(): void {
    if (this.committing || this.staged.length > 0) return;
    for (const w of this.horizonWaiters.filter((x) => this.engine.nowMs + this.engine.stepMs > x.at)) {
      this.horizonWaiters.splice(this.horizonWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  private stateTopic(l: DeviceLink): string {
    return topic('localDeviceState', { device: l.device.spec.id });
  }

  private connect(l: DeviceLink): Promise<void> {
    if (l.shared) return this.joinShared(l, l.shared);
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
    const cmdTopic = commandTopicOf(id);
    client.on('reconnect', () => {
      if (client.options.will) client.options.will.payload = willPayload();
    });
    // Birth on every (re)connect, so an agent that restarted learns the device is back; then what
    // the device still holds from an earlier session (mqtt.js resends its own on a reconnect).
    client.on('connect', () => {
      if (l.client !== client) return;
      l.seq++;
      this.publishBirth(l, client);
      l.resendHeld(() => this.onHeldAcked());
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

  private onHeldAcked(): void {
    this.heldTotal--;
    this.notifyDrained();
  }

  /** QoS 1 publish of a birth or ack, counted until PUBACK (or failure) for backpressure and drain(). */
  private publishControl(l: DeviceLink, client: MqttClient, t: string, payload: Buffer, retain = false): void {
    this.controlPending++;
    l.controlPending++;
    client.publish(t, payload, { qos: 1, retain }, () => {
      // A callback from a session already dropped was discounted in dropConnection.
      if (l.client !== client) return;
      l.controlPending--;
      this.controlPending--;
      this.notifyDrained();
    });
  }

  private undelivered(): number {
    let n = this.staged.length + this.controlPending;
    if (this.heldTotal > 0) for (const l of this.links.values()) if (l.client) n += l.held.size;
    return n;
  }

  private notifyDrained(): void {
    if (this.drainWaiters.length > 0 && this.undelivered() === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  private publishBirth(l: DeviceLink, client: MqttClient): void {
    const state: DeviceState = l.device.birth(l.seq, this.options.clock.now(), 'online');
    this.counters.births++;
    this.publishControl(l, client, this.stateTopic(l), encode(state), true);
  }

  private onCommand(l: DeviceLink, client: MqttClient, payload: Buffer): void {
    this.counters.commands++;
    const json = parseJson(payload);
    if (!json.ok) return; // no id to ack; the agent times the command out
    // Commands take effect from the current sim step (power changes only at step boundaries).
    const ack = this.engine.handleCommand(l.device.spec.id, json.value, this.options.clock.now());
    this.afterChange();
    if (!ack) return;
    this.counters.acks++;
    this.publishControl(l, client, topic('localAck', { device: l.device.spec.id }), encode(ack));
  }

  /** Hands committed outputs to the devices' sessions, in production order. */
  private release(batch: readonly Staged[]): void {
    for (const { device, output } of batch) {
      const l = this.links.get(device.spec.id);
      if (!l) continue;
      const m = heldOf({ device, output });
      if (m) {
        if (m.type === 'telemetry') this.counters.telemetry++;
        else this.counters.events++;
        const h: Held = { msg: m, sentOn: undefined };
        l.held.add(h);
        this.heldTotal++;
        // mqtt.js queues QoS 1 publishes while reconnecting; without a session it waits for the next.
        l.send(h, () => this.onHeldAcked());
        continue;
      }
      switch (output.type) {
        case 'rebirth':
          // Same session, same seq: the will still pairs with this birth.
          if (l.client?.connected) this.publishBirth(l, l.client);
          break;
        case 'powerLost':
          this.dropConnection(l);
          break;
        case 'powerRestored':
          if (this.running) void this.connect(l);
          break;
      }
    }
    this.notifyDrained();
  }

  /** Destroys the socket without DISCONNECT: the broker publishes the will. Held readings wait for the next session. */
  private dropConnection(l: DeviceLink): void {
    const c = l.client;
    if (!c) return;
    l.client = undefined;
    this.controlPending -= l.controlPending;
    l.controlPending = 0;
    this.notifyDrained();
    if (l.shared) {
      // The concentrator reports the node gone: what its will would have said, on its state topic.
      const off = l.device.birth(l.seq + 1, this.options.clock.now(), 'offline');
      c.publish(this.stateTopic(l), encode(off), { qos: 1, retain: true });
      return;
    }
    c.stream?.destroy();
    c.end(true);
  }

  /** A device joins its shared session: at once when the session is up, else when it connects. */
  private joinShared(l: DeviceLink, s: SharedSession): Promise<void> {
    if (!s.client) return this.connectShared(s);
    if (s.client.connected && !l.client) this.attachShared(l, s.client);
    return s.ready ?? Promise.resolve();
  }

  /** One connection for all the session's devices; on every (re)connect each powered one is born again. */
  private connectShared(s: SharedSession): Promise<void> {
    const client = mqtt.connect(s.url, {
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      keepalive: 30,
      ...this.options.mqtt,
      clientId: s.clientId,
      clean: true,
    });
    s.client = client;
    client.on('connect', () => {
      if (s.client !== client) return;
      for (const l of s.members) if (l.device.powered) this.attachShared(l, client);
      client.subscribe([...s.byCommandTopic.keys()], { qos: 1 }, (err) => {
        if (err) this.options.onError?.(err, s.clientId);
      });
    });
    client.on('message', (t, payload) => {
      const l = s.byCommandTopic.get(t);
      if (l === undefined || l.client !== client) return;
      this.onCommand(l, client, payload);
    });
    client.on('error', (err) => this.options.onError?.(err, s.clientId));
    s.ready = new Promise((resolve) => {
      if (client.connected) resolve();
      else client.once('connect', () => resolve());
    });
    return s.ready;
  }

  private attachShared(l: DeviceLink, client: MqttClient): void {
    l.client = client;
    l.seq++;
    this.publishBirth(l, client);
    l.resendHeld(() => this.onHeldAcked());
  }

  /** Abrupt end of a shared session: its socket destroyed; its devices' held readings wait for the next. */
  private killShared(s: SharedSession): void {
    const c = s.client;
    if (!c) return;
    s.client = undefined;
    for (const l of s.members) {
      if (l.client !== c) continue;
      l.client = undefined;
      this.controlPending -= l.controlPending;
      l.controlPending = 0;
    }
    this.notifyDrained();
    c.stream?.destroy();
    c.end(true);
  }
}

function heldOf({ device, output }: Staged): HeldMessage | undefined {
  if (output.type === 'telemetry') return { type: 'telemetry', device: device.spec.id, payload: output.payload };
  if (output.type === 'event') return { type: 'event', device: device.spec.id, payload: output.payload };
  return undefined;
}

function commandTopicOf(deviceId: string): string {
  return topic('localCommand', { device: deviceId });
}
