import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectMqtt } from '../core/mqtt-connect';
import type { Logger } from 'pino';
import { parseTopic, topic } from '@poste/protocol';
import { backoffDelayMs } from './backoff';
import { brokerOrder, brokerUrls } from './broker-order';
import type { NorthOptionsSchema } from '../core/options';
import type { Timers } from '../core/timers';
import type { z } from 'zod';

export type NorthOptions = z.output<typeof NorthOptionsSchema>;

/** Cloud → gateway topic kinds the agent handles: one handler each. */
export interface NorthHandlers {
  command(payload: Buffer): void;
  configDesired(payload: Buffer): void;
  /** OTA job (retained) and chunks, for extensions/ota */
  otaJob(payload: Buffer): void;
  otaChunk(payload: Buffer): void;
}

export interface NorthLinkHooks {
  /** The last-will payload for the next connection attempt (carries the next birth's seq). */
  willPayload(): Buffer;
  /**
   * The link is up and subscribed (SUBACK received): publish birth and states here, then start
   * sending what is spooled. Called once per connection.
   */
  onConnected(): void;
  /** The link went down after onConnected: whatever was in flight has no PUBACK and must be resent. */
  onDisconnected(): void;
}

export interface NorthStats {
  connected: boolean;
  connects: number;
  /** connections after the first one */
  reconnects: number;
  connectFailures: number;
  published: number;
  publishErrors: number;
  /** state messages not published because the link was down (the next birth republishes them) */
  skippedWhileDown: number;
  received: number;
}

/** Called with true on the PUBACK of a tracked publish, false when its connection ended first. */
export type PublishDone = (acked: boolean) => void;

/**
 * The gateway's one MQTT 3.1.1 connection to the cloud broker. The agent owns delivery (the spool
 * and its sender), so MQTT.js must never resend or queue anything by itself: every connection
 * attempt is a fresh client (fresh, empty message stores, clean session) and nothing is published
 * while the link is down. MQTT.js's own reconnect is a fixed period, so it is off
 * (reconnectPeriod 0) and replaced with exponential backoff + jitter. On connect the link
 * subscribes and waits for the SUBACK before it reports itself up, so a command sent right at a
 * reconnect is heard and never waits behind a replay.
 */
export class NorthLink {
  readonly #gatewayId: string;
  readonly #opts: NorthOptions;
  readonly #handlers: NorthHandlers;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #hooks: NorthLinkHooks;
  #client: MqttClient | null = null;
  /** the client that completed connect + subscribe; null while down */
  #ready: MqttClient | null = null;
  #attempt = 0;
  /** the broker URLs in this gateway's order (one, or a cluster's nodes: broker-order.ts) */
  readonly #urls: string[];
  /** index in #urls of the node dialled last */
  #urlIndex = 0;
  #reconnectTimer: unknown = null;
  #stopping = false;
  readonly #stats: NorthStats = {
    connected: false,
    connects: 0,
    reconnects: 0,
    connectFailures: 0,
    published: 0,
    publishErrors: 0,
    skippedWhileDown: 0,
    received: 0,
  };
  readonly #connectWaiters: Array<() => void> = [];

  constructor(gatewayId: string, opts: NorthOptions, handlers: NorthHandlers, hooks: NorthLinkHooks, timers: Timers, log: Logger) {
    this.#gatewayId = gatewayId;
    this.#opts = opts;
    this.#handlers = handlers;
    this.#timers = timers;
    this.#log = log;
    this.#hooks = hooks;
    this.#urls = brokerOrder(gatewayId, brokerUrls(opts.url));
  }

  /** the broker URL dialled last (the one in use while connected) */
  get url(): string {
    return this.#urls[this.#urlIndex]!;
  }

  start(): void {
    this.#dial();
  }

  #dial(): void {
    const opts = this.#opts;
    const clientOpts: IClientOptions = {
      clientId: this.#gatewayId,
      protocolVersion: 4,
      clean: true,
      keepalive: opts.keepaliveS,
      connectTimeout: opts.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      // Never queue while offline: the spool is the only queue.
      queueQoSZero: false,
      will: { topic: topic('gatewayState', { gateway: this.#gatewayId }), payload: this.#hooks.willPayload(), qos: 1, retain: true },
      ...(opts.username !== undefined && { username: opts.username }),
      ...(opts.password !== undefined && { password: opts.password }),
      ...tlsOptions(opts),
    };
    const client = connectMqtt(this.url, clientOpts);
    this.#client = client;
    client.on('connect', () => this.#onConnect(client));
    client.on('close', () => this.#onClose(client));
    client.on('error', (err) => this.#log.warn({ err: err.message }, 'north link error'));
    client.on('message', (t, payload) => {
      if (client !== this.#client) return;
      this.#stats.received++;
      const parsed = parseTopic(t);
      if (parsed?.kind === 'command' && parsed.params.gateway === this.#gatewayId) this.#handlers.command(payload);
      else if (parsed?.kind === 'configDesired' && parsed.params.gateway === this.#gatewayId) this.#handlers.configDesired(payload);
      else if (parsed?.kind === 'otaJob' && parsed.params.gateway === this.#gatewayId) this.#handlers.otaJob(payload);
      else if (parsed?.kind === 'otaChunk' && parsed.params.gateway === this.#gatewayId) this.#handlers.otaChunk(payload);
      else this.#log.warn({ topic: t }, 'north message on an unexpected topic');
    });
  }

  #onConnect(client: MqttClient): void {
    if (client !== this.#client || this.#stopping) return;
    const gw = this.#gatewayId;
    // Clean session: subscriptions do not survive a reconnect, so renew them every time, and only
    // then call the link up (birth, then replay): the cloud may command the gateway as soon as it
    // sees the birth.
    const southbound = [
      topic('command', { gateway: gw }),
      topic('configDesired', { gateway: gw }),
      topic('otaJob', { gateway: gw }),
      topic('otaChunk', { gateway: gw }),
    ];
    client.subscribe(southbound, { qos: 1 }, (err, granted) => {
      if (client !== this.#client || this.#stopping) return;
      if (err) {
        // The connection died before the SUBACK: #onClose schedules the next attempt.
        this.#log.warn({ err: err.message }, 'north subscribe failed');
        return;
      }
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0)
        this.#log.error({ refused }, 'north broker refused a subscription: the gateway cannot hear these topics (check the broker ACL)');
      this.#up(client);
    });
  }

  #up(client: MqttClient): void {
    this.#attempt = 0;
    this.#ready = client;
    if (this.#stats.connects > 0) this.#stats.reconnects++;
    this.#stats.connects++;
    this.#stats.connected = true;
    this.#log.info({ url: this.url }, 'north link connected');
    this.#hooks.onConnected();
    for (const w of this.#connectWaiters.splice(0)) w();
  }

  #onClose(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#client = null;
    const wasUp = this.#ready === client;
    this.#ready = null;
    this.#stats.connected = false;
    // Ends MQTT.js's timers for this client; its unacknowledged publishes are failed, not kept.
    client.end(true);
    if (wasUp) {
      if (!this.#stopping) this.#log.warn('north link lost');
      this.#hooks.onDisconnected();
    } else {
      this.#stats.connectFailures++;
    }
    if (this.#stopping || this.#reconnectTimer !== null) return;
    // A cluster: the node that failed or was lost is not tried again before the others.
    if (this.#urls.length > 1) {
      this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
      this.#log.info({ next: this.url }, 'north link: trying the next broker node');
    }
    const delay = backoffDelayMs(this.#attempt++, this.#opts.reconnect.initialDelayMs, this.#opts.reconnect.maxDelayMs);
    this.#log.debug({ delay, attempt: this.#attempt }, 'north reconnect scheduled');
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      this.#reconnectTimer = null;
      if (!this.#stopping) this.#dial();
    }, delay);
  }

  /**
   * Publishes a retained state message (gateway or device state, reported config) when the link is
   * up; when it is down the message is skipped — it is state, the next birth republishes it.
   */
  publishState(t: string, payload: Buffer, retain = true): void {
    const client = this.#ready;
    if (client === null) {
      this.#stats.skippedWhileDown++;
      return;
    }
    this.#send(client, t, payload, retain, () => {});
  }

  /**
   * QoS 1 publish for the delivery: `done(true)` on its PUBACK, `done(false)` when the connection
   * ends first. Returns false (and never calls done) when the link is down.
   */
  publishTracked(t: string, payload: Buffer, done: PublishDone): boolean {
    const client = this.#ready;
    if (client === null) return false;
    this.#send(client, t, payload, false, done);
    return true;
  }

  #send(client: MqttClient, t: string, payload: Buffer, retain: boolean, done: PublishDone): void {
    let settled = false;
    const settle = (ok: boolean, err?: Error): void => {
      if (settled) return;
      settled = true;
      if (ok) this.#stats.published++;
      else {
        this.#stats.publishErrors++;
        if (!this.#stopping) this.#log.debug({ topic: t, err: err?.message }, 'north publish not acknowledged');
        // Failed on a link that is still up: restart the connection, so the delivery rewinds and
        // resends from the spool rather than waiting for a PUBACK that cannot come.
        if (this.#ready === client && !this.#stopping) {
          this.#log.warn({ topic: t, err: err?.message }, 'north publish failed on a live link; reconnecting');
          // Not from inside this callback: MQTT.js fails its in-flight publishes in a loop over them
          // (a keepalive timeout), and ending the client there empties that table under the loop —
          // "Cannot read properties of undefined (reading 'cb')" killed a 100-gateway city.
          queueMicrotask(() => {
            if (this.#ready === client) client.end(true);
          });
        }
      }
      done(ok);
    };
    try {
      client.publish(t, payload, { qos: 1, retain }, (err) => settle(!err, err ?? undefined));
    } catch (err) {
      // MQTT.js throws instead of calling back once the client is ending.
      settle(false, err as Error);
    }
  }

  get connected(): boolean {
    return this.#ready !== null;
  }

  /** Resolves on the next successful connection (immediately when connected). */
  whenConnected(): Promise<void> {
    if (this.#ready !== null) return Promise.resolve();
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
    const client = this.#client;
    if (client === null) return;
    // Not up, there is nothing to flush and a graceful end would wait for a connection forever.
    const force = abrupt || this.#ready !== client;
    await new Promise<void>((resolve) => {
      const bound = force ? null : setTimeout(() => client.end(true, {}, () => resolve()), 5_000);
      client.end(force, {}, () => {
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
