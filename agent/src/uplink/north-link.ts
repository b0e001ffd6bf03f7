import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { parseTopic, topic } from '@poste/protocol';
import { backoffDelayMs } from './backoff';
import type { NorthOptionsSchema } from '../core/options';
import type { Timers } from '../core/timers';
import type { z } from 'zod';

export type NorthOptions = z.output<typeof NorthOptionsSchema>;

/** Cloud → gateway topic kinds the agent handles: one handler each. */
export interface NorthHandlers {
  command(payload: Buffer): void;
  configDesired(payload: Buffer): void;
}

export interface NorthLinkHooks {
  /** The last-will payload for the next connection attempt (carries the next birth's seq). */
  willPayload(): Buffer;
  /** Called on every (re)connection: publish birth and device states here. */
  onConnected(): void;
}

export interface NorthStats {
  connected: boolean;
  connects: number;
  connectFailures: number;
  published: number;
  publishErrors: number;
  received: number;
}

/**
 * The gateway's one MQTT 3.1.1 connection to the cloud broker. MQTT.js's own reconnect is a fixed
 * period, so it is switched off (reconnectPeriod 0) and replaced with exponential backoff + jitter.
 */
export class NorthLink {
  readonly #client: MqttClient;
  readonly #gatewayId: string;
  readonly #opts: NorthOptions;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #hooks: NorthLinkHooks;
  #attempt = 0;
  #reconnectTimer: unknown = null;
  #stopping = false;
  readonly #stats: NorthStats = { connected: false, connects: 0, connectFailures: 0, published: 0, publishErrors: 0, received: 0 };
  readonly #connectWaiters: Array<() => void> = [];

  constructor(gatewayId: string, opts: NorthOptions, handlers: NorthHandlers, hooks: NorthLinkHooks, timers: Timers, log: Logger) {
    this.#gatewayId = gatewayId;
    this.#opts = opts;
    this.#timers = timers;
    this.#log = log;
    this.#hooks = hooks;
    const clientOpts: IClientOptions = {
      clientId: gatewayId,
      protocolVersion: 4,
      clean: true,
      keepalive: opts.keepaliveS,
      connectTimeout: opts.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      manualConnect: true,
      will: this.#will(),
      ...(opts.username !== undefined && { username: opts.username }),
      ...(opts.password !== undefined && { password: opts.password }),
      ...tlsOptions(opts),
    };
    this.#client = connect(opts.url, clientOpts);
    this.#client.on('connect', () => this.#onConnect());
    this.#client.on('close', () => this.#onClose());
    this.#client.on('error', (err) => log.warn({ err: err.message }, 'north link error'));
    this.#client.on('message', (t, payload) => {
      this.#stats.received++;
      const parsed = parseTopic(t);
      if (parsed?.kind === 'command' && parsed.params.gateway === gatewayId) handlers.command(payload);
      else if (parsed?.kind === 'configDesired' && parsed.params.gateway === gatewayId) handlers.configDesired(payload);
      else log.warn({ topic: t }, 'north message on an unexpected topic');
    });
  }

  start(): void {
    this.#client.connect();
  }

  #will(): NonNullable<IClientOptions['will']> {
    return { topic: topic('gatewayState', { gateway: this.#gatewayId }), payload: this.#hooks.willPayload(), qos: 1, retain: true };
  }

  #onConnect(): void {
    this.#attempt = 0;
    this.#stats.connected = true;
    this.#stats.connects++;
    this.#log.info({ url: this.#opts.url }, 'north link connected');
    const gw = this.#gatewayId;
    // Clean session: subscriptions do not survive a reconnect, so renew them every time.
    this.#client.subscribe(
      [topic('command', { gateway: gw }), topic('configDesired', { gateway: gw })],
      { qos: 1 },
      (err) => {
        if (err) this.#log.warn({ err: err.message }, 'north subscribe failed');
      },
    );
    this.#hooks.onConnected();
    for (const w of this.#connectWaiters.splice(0)) w();
  }

  #onClose(): void {
    if (this.#stats.connected && !this.#stopping) this.#log.warn('north link lost');
    else this.#stats.connectFailures++;
    this.#stats.connected = false;
    if (this.#stopping || this.#reconnectTimer !== null) return;
    const delay = backoffDelayMs(this.#attempt++, this.#opts.reconnect.initialDelayMs, this.#opts.reconnect.maxDelayMs);
    this.#log.debug({ delay, attempt: this.#attempt }, 'north reconnect scheduled');
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#stopping) return;
      // The will must carry the seq the next birth will use.
      this.#client.options.will = this.#will();
      // Hand the stores back in: reconnect() without them drops unacked QoS 1 messages.
      this.#client.reconnect({ incomingStore: this.#client.incomingStore, outgoingStore: this.#client.outgoingStore });
    }, delay);
  }

  /** QoS 1 publish; MQTT.js queues it while the link is down (in memory, until the spool lands). */
  publish(t: string, payload: Buffer, retain = false): Promise<void> {
    const failed = (err: Error): void => {
      this.#stats.publishErrors++;
      this.#log.warn({ topic: t, err: err.message }, 'north publish failed');
    };
    return new Promise((resolve) => {
      // Once the link is ending (stop), MQTT.js throws instead of calling back: a device will that
      // lands during shutdown must be counted and dropped, never crash the agent.
      if (this.#stopping && (this.#client.disconnecting || this.#client.disconnected)) {
        failed(new Error('north link stopped'));
        resolve();
        return;
      }
      try {
        this.#client.publish(t, payload, { qos: 1, retain }, (err) => {
          if (err) failed(err);
          else this.#stats.published++;
          resolve();
        });
      } catch (err) {
        failed(err as Error);
        resolve();
      }
    });
  }

  get connected(): boolean {
    return this.#stats.connected;
  }

  /** Resolves on the next successful connection (immediately when connected). */
  whenConnected(): Promise<void> {
    if (this.#stats.connected) return Promise.resolve();
    return new Promise((resolve) => this.#connectWaiters.push(resolve));
  }

  stats(): NorthStats {
    return { ...this.#stats };
  }

  /**
   * Graceful: DISCONNECT after in-flight messages, so the broker does not publish the will (the
   * caller publishes an explicit offline first). Abrupt: drop the socket, as a crash would.
   */
  async stop(abrupt = false): Promise<void> {
    this.#stopping = true;
    if (this.#reconnectTimer !== null) {
      this.#timers.clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
    }
    // Disconnected, there is nothing to flush and a graceful end would wait for a connection forever.
    const force = abrupt || !this.#stats.connected;
    await new Promise<void>((resolve) => {
      const bound = force ? null : setTimeout(() => this.#client.end(true, {}, () => resolve()), 5_000);
      this.#client.end(force, {}, () => {
        if (bound) clearTimeout(bound);
        resolve();
      });
    });
  }
}

function tlsOptions(opts: NorthOptions): Partial<IClientOptions> {
  const tls = opts.tls;
  if (!tls) return {};
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.caFile !== undefined && { ca: readFileSync(tls.caFile) }),
    ...(tls.certFile !== undefined && { cert: readFileSync(tls.certFile) }),
    ...(tls.keyFile !== undefined && { key: readFileSync(tls.keyFile) }),
  };
}
