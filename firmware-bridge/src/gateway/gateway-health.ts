// Is a gateway connected and healthy? Read from the broker's retained state topics, as the cloud
// sees it: the gateway's birth (online, agent version, device counts) and its devices' states.
import { randomBytes } from 'node:crypto';
import { DeviceStateSchema, GatewayStateSchema, parseTopic, topic, topicFilter, type GatewayState } from '@poste/protocol';
import mqtt from 'mqtt';

export interface HealthQuery {
  brokerUrl: string;
  username: string;
  password: string;
  gatewayId: string;
  /** how long to wait for the gateway to come online */
  timeoutMs: number;
  /** healthy only with at least this many devices online (their retained states) */
  minDevicesOnline: number;
  caPem?: string | undefined;
}

export type HealthReport =
  | { outcome: 'healthy' | 'unhealthy'; gateway: GatewayState | undefined; devicesOnline: number; devicesKnown: number; reason: string }
  | { outcome: 'unreachable'; reason: string };

/**
 * Subscribes (as a service user) to the gateway's retained state and its devices' states and waits
 * until it is online with enough devices online, or the time is up.
 */
export function checkGatewayHealth(q: HealthQuery): Promise<HealthReport> {
  return new Promise((resolve) => {
    const client = mqtt.connect(q.brokerUrl, {
      username: q.username,
      password: q.password,
      // The broker requires a service's client id to start with its username.
      clientId: `${q.username}-check-${randomBytes(4).toString('hex')}`,
      reconnectPeriod: 0,
      connectTimeout: Math.min(q.timeoutMs, 10_000),
      ...(q.caPem ? { ca: q.caPem } : {}),
    });
    let gateway: GatewayState | undefined;
    const devices = new Map<string, boolean>();
    let settled = false;
    const finish = (report: HealthReport) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      resolve(report);
    };
    const online = () => [...devices.values()].filter(Boolean).length;
    const evaluate = (final: boolean) => {
      const ok = gateway?.status === 'online' && online() >= q.minDevicesOnline;
      if (ok) finish({ outcome: 'healthy', gateway, devicesOnline: online(), devicesKnown: devices.size, reason: 'online' });
      else if (final) {
        const reason =
          gateway === undefined
            ? `no state from ${q.gatewayId} (never connected, or not to this broker)`
            : gateway.status !== 'online'
              ? `${q.gatewayId} is offline (last seen ${new Date(gateway.ts).toISOString()})`
              : `${online()} devices online, expected at least ${q.minDevicesOnline}`;
        finish({ outcome: 'unhealthy', gateway, devicesOnline: online(), devicesKnown: devices.size, reason });
      }
    };
    const timer = setTimeout(() => evaluate(true), q.timeoutMs);
    client.on('error', (err) => finish({ outcome: 'unreachable', reason: `${q.brokerUrl}: ${err.message}` }));
    client.on('close', () => {
      if (!client.connected) finish({ outcome: 'unreachable', reason: `${q.brokerUrl}: connection closed before the check finished` });
    });
    client.on('connect', () => {
      client.subscribe(
        [topic('gatewayState', { gateway: q.gatewayId }), topicFilter('deviceState', { gateway: q.gatewayId })],
        { qos: 1 },
        (err) => {
          if (err) finish({ outcome: 'unreachable', reason: `subscribe refused: ${err.message}` });
        },
      );
    });
    client.on('message', (t, payload) => {
      const parsed = parseTopic(t);
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        return;
      }
      if (parsed?.kind === 'gatewayState') {
        const s = GatewayStateSchema.safeParse(json);
        if (s.success) gateway = s.data;
      } else if (parsed?.kind === 'deviceState') {
        const s = DeviceStateSchema.safeParse(json);
        if (s.success) devices.set(parsed.params.device, s.data.status === 'online');
      }
      evaluate(false);
    });
  });
}
