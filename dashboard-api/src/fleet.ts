import mqtt from 'mqtt';
import {
  DeviceStateSchema,
  GatewayStateSchema,
  decode,
  formatPayloadError,
  parseTopic,
  topicFilter,
  type DeviceKind,
} from '@poste/protocol';

/**
 * Live fleet state from the retained state topics (docs/architecture.md, MQTT contract): gateway birth/will on
 * `poste/v1/gw/{gw}/state`, device state republished by the agent on `poste/v1/gw/{gw}/dev/{dev}/state`.
 *
 * A device's own retained "online" outlives its gateway: when a gateway's last will fires nobody
 * republishes its devices, so a device counts online only while its gateway is online too.
 * Messages are taken in arrival order (MQTT keeps per-topic order) rather than gated on `seq`,
 * because a gateway whose seq restarted from 0 would otherwise look stale forever.
 */

export interface OnlineOffline {
  online: number;
  offline: number;
}

export interface FleetSnapshot {
  gateways: OnlineOffline;
  luminaires: OnlineOffline;
  aps: OnlineOffline;
}

export interface FleetStats {
  accepted: number;
  /** payloads that failed validation, and topics under poste/v1 that are not state topics */
  invalid: number;
}

/** One change of reachability: a gateway or device appeared, went on- or offline, or was removed. */
export interface FleetChange {
  gateway: string;
  /** absent for the gateway itself */
  device?: string;
  kind: 'gateway' | DeviceKind;
  online: boolean;
  removed?: boolean;
}

/** A device as last seen on its state topic. */
export interface FleetDevice {
  gateway: string;
  device: string;
  kind: DeviceKind;
  online: boolean;
  /** online and its gateway online */
  reachable: boolean;
  group?: string;
}

export interface FleetLogger {
  warn(obj: object, msg: string): void;
}

export interface FleetTracker {
  /** Feeds one MQTT message; never throws. An empty payload clears a retained state (removes it). */
  ingest(topic: string, payload: Uint8Array | string): void;
  /** Counts; `includeGateway` restricts them to some gateways (e.g. one municipality's). */
  snapshot(includeGateway?: (gateway: string) => boolean): FleetSnapshot;
  stats(): FleetStats;
  /** true/false when linked to a broker, null when fed by hand (tests, embedding). */
  linkConnected(): boolean | null;
  /** Called on every change of a gateway's or device's online state (not on repeats); returns the unsubscribe. */
  onChange(listener: (change: FleetChange) => void): () => void;
  /** Gateways (id → online) and devices as last seen. */
  gatewayStates(): ReadonlyMap<string, boolean>;
  devices(): FleetDevice[];
  /**
   * Messages of other kinds the link delivers (events, acks, reported configs; see TAPPED_KINDS),
   * raw: each listener validates its own payloads. Returns the unsubscribe.
   */
  tap(kind: TappedKind, listener: (gateway: string, payload: Uint8Array) => void): () => void;
  /** Publishes as the service user (commands, desired configs). Rejects when not linked to a broker. */
  publish(topic: string, payload: Uint8Array | string, opts?: { retain?: boolean }): Promise<void>;
}

/** What the link subscribes to beside the state topics, for the faults and the command outcomes. */
export const TAPPED_KINDS = ['events', 'ack', 'configDesired', 'configReported'] as const;
export type TappedKind = (typeof TAPPED_KINDS)[number];

interface DeviceEntry {
  gateway: string;
  device: string;
  kind: DeviceKind;
  online: boolean;
  group?: string;
}

const silentLogger: FleetLogger = { warn: () => {} };

export function createFleetTracker(
  opts: {
    logger?: FleetLogger;
    publish?: (topic: string, payload: Uint8Array | string, opts?: { retain?: boolean }) => Promise<void>;
  } = {},
): FleetTracker {
  const logger = opts.logger ?? silentLogger;
  const gateways = new Map<string, boolean>();
  const devices = new Map<string, DeviceEntry>();
  const stats: FleetStats = { accepted: 0, invalid: 0 };
  const listeners = new Set<(change: FleetChange) => void>();
  const taps = new Map<TappedKind, Set<(gateway: string, payload: Uint8Array) => void>>();
  const emit = (change: FleetChange) => {
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'fleet: change listener failed');
      }
    }
  };

  const reject = (topic: string, reason: string) => {
    stats.invalid += 1;
    logger.warn({ topic, reason }, 'fleet: rejected state message');
  };

  return {
    ingest(topic, payload) {
      try {
        const parsed = parseTopic(topic);
        if (parsed && (TAPPED_KINDS as readonly string[]).includes(parsed.kind)) {
          const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
          const gateway = (parsed.params as { gateway: string }).gateway;
          for (const l of taps.get(parsed.kind as TappedKind) ?? []) {
            try {
              l(gateway, bytes);
            } catch (err) {
              logger.warn({ topic, err: (err as Error).message }, 'fleet: tap listener failed');
            }
          }
          return;
        }
        if (!parsed || (parsed.kind !== 'gatewayState' && parsed.kind !== 'deviceState')) {
          reject(topic, 'not a gateway or device state topic');
          return;
        }
        const empty = payload.length === 0;
        if (parsed.kind === 'gatewayState') {
          const gw = parsed.params.gateway;
          if (empty) {
            if (gateways.delete(gw)) emit({ gateway: gw, kind: 'gateway', online: false, removed: true });
            stats.accepted += 1;
            return;
          }
          const d = decode(GatewayStateSchema, payload);
          if (!d.ok) return reject(topic, formatPayloadError(d.error));
          const online = d.value.status === 'online';
          const before = gateways.get(gw);
          gateways.set(gw, online);
          stats.accepted += 1;
          if (before !== online) emit({ gateway: gw, kind: 'gateway', online });
          return;
        }
        const key = `${parsed.params.gateway}/${parsed.params.device}`;
        const { gateway, device } = parsed.params;
        const prev = devices.get(key);
        if (empty) {
          if (devices.delete(key) && prev) emit({ gateway, device, kind: prev.kind, online: false, removed: true });
          stats.accepted += 1;
          return;
        }
        const d = decode(DeviceStateSchema, payload);
        if (!d.ok) return reject(topic, formatPayloadError(d.error));
        const online = d.value.status === 'online';
        devices.set(key, {
          gateway,
          device,
          kind: d.value.kind,
          online,
          ...(d.value.group !== undefined ? { group: d.value.group } : prev?.group !== undefined ? { group: prev.group } : {}),
        });
        stats.accepted += 1;
        if (prev?.online !== online) emit({ gateway, device, kind: d.value.kind, online });
      } catch (err) {
        // Defensive: a tracker bug must not take the API down with it.
        reject(topic, `internal: ${(err as Error).message}`);
      }
    },

    snapshot(includeGateway = () => true) {
      const snap: FleetSnapshot = {
        gateways: { online: 0, offline: 0 },
        luminaires: { online: 0, offline: 0 },
        aps: { online: 0, offline: 0 },
      };
      for (const [gw, online] of gateways) {
        if (includeGateway(gw)) snap.gateways[online ? 'online' : 'offline'] += 1;
      }
      for (const dev of devices.values()) {
        if (!includeGateway(dev.gateway)) continue;
        const reachable = dev.online && gateways.get(dev.gateway) === true;
        snap[dev.kind === 'luminaire' ? 'luminaires' : 'aps'][reachable ? 'online' : 'offline'] += 1;
      }
      return snap;
    },

    stats: () => ({ ...stats }),
    linkConnected: () => null,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    gatewayStates: () => gateways,
    tap(kind, listener) {
      let set = taps.get(kind);
      if (!set) {
        set = new Set();
        taps.set(kind, set);
      }
      set.add(listener);
      return () => set.delete(listener);
    },
    publish:
      opts.publish ??
      (async () => {
        throw new Error('fleet: not linked to a broker (no publish)');
      }),
    devices: () =>
      [...devices.values()].map((d) => ({
        gateway: d.gateway,
        device: d.device,
        kind: d.kind,
        online: d.online,
        reachable: d.online && gateways.get(d.gateway) === true,
        ...(d.group !== undefined ? { group: d.group } : {}),
      })),
  };
}

export interface FleetLinkOptions {
  /** e.g. mqtt://127.0.0.1:1883 or mqtts://broker.example:8883 */
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  logger?: FleetLogger;
  /** how long to wait for the first connection + subscription (default 10 s) */
  connectTimeoutMs?: number;
  /** extra mqtt.js options (TLS CA, rejectUnauthorized, ...) */
  mqttOptions?: mqtt.IClientOptions;
}

export interface ConnectedFleetTracker extends FleetTracker {
  close(): Promise<void>;
}

/**
 * A tracker fed by a broker subscription. Resolves once subscribed (retained states then arrive);
 * after that mqtt.js reconnects by itself and re-subscribes (clean session), and the link state
 * shows on /healthz. Works with any MQTT 3.1.1/5 broker.
 */
export async function connectFleetTracker(opts: FleetLinkOptions): Promise<ConnectedFleetTracker> {
  const tracker = createFleetTracker(opts.logger ? { logger: opts.logger } : {});
  const client = mqtt.connect(opts.url, {
    // The broker accepts a service's client id only when it starts with the service's username.
    clientId: opts.clientId ?? `${opts.username ?? 'poste-dashboard'}-fleet-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 2_000,
    connectTimeout: 10_000,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...opts.mqttOptions,
  });
  const filters = [topicFilter('gatewayState'), topicFilter('deviceState'), ...TAPPED_KINDS.map((k) => topicFilter(k))];
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  client.on('message', (topic, payload) => tracker.ingest(topic, payload));
  client.on('error', (err) => opts.logger?.warn({ err: err.message }, 'fleet: mqtt error'));

  // Resolve once the first subscription is acknowledged, so retained states are on their way.
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      reject(new Error(`fleet: cannot subscribe at ${opts.url}: ${reason}`));
    };
    const timer = setTimeout(() => fail(`no connection within ${timeoutMs} ms`), timeoutMs);
    client.on('connect', () => {
      client.subscribe(filters, { qos: 1 }, (err, granted) => {
        const refused = granted?.some((g) => g.qos === 128);
        if (err || refused) {
          opts.logger?.warn({ err: err?.message ?? 'subscription refused' }, 'fleet: subscribe failed');
          return fail(err?.message ?? 'subscription refused by the broker (ACL?)');
        }
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });

  return {
    ...tracker,
    linkConnected: () => client.connected,
    publish: async (topic, payload, publishOpts = {}) => {
      await client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), {
        qos: 1,
        retain: publishOpts.retain ?? false,
      });
    },
    close: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}
