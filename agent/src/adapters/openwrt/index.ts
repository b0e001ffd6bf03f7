// The OpenWrt adapter: access points running the on-AP script (agent/openwrt/poste-ap.sh), which
// publishes ubus answers (`system info`, `network.device status`, `hostapd.<if> get_clients`) and
// applies the bandwidth plans this adapter turns into `tc` commands. Topics, under `topicPrefix`:
//   <prefix>/<ap>/report  AP → agent, the ubus report (ubus.ts)
//   <prefix>/<ap>/status  AP → agent, `online` (retained) / `offline` (the plan subscriber's will)
//   <prefix>/<ap>/plan    agent → AP, one line `<id> <dev> <tc cmd>;…` (tc-plan.ts), QoS 1
//   <prefix>/<ap>/ack     AP → agent, `{"id","outcome","detail"}`
import * as z from 'zod';
import { formatPayloadError, toPayloadError, type DeviceCommand } from '@poste/protocol';
import { clientTransport, embeddedTransport, type MqttTransport } from '../mqtt-transport';
import type { AdapterContext, AdapterDescriptor, DeviceAdapter } from '../types';
import { AccessPoint } from './access-point';
import { OpenWrtAdapterConfigSchema, type OpenWrtAdapterConfig } from './config';
import { UbusReportSchema } from './ubus';

const PlanAckSchema = z.object({
  id: z.string().min(1).max(64),
  outcome: z.enum(['done', 'rejected']),
  detail: z.string().max(500).optional(),
});

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function createOpenWrtAdapter(config: OpenWrtAdapterConfig, ctx: AdapterContext): Promise<DeviceAdapter> {
  const prefix = config.topicPrefix;
  const counts = { unknownAps: 0, malformed: 0 };
  const aps = new Map<string, AccessPoint>();
  let transport: MqttTransport | null = null;
  for (const apc of config.aps) {
    aps.set(
      apc.device,
      new AccessPoint(apc, {
        sink: ctx.sink,
        clock: ctx.clock,
        timers: ctx.timers,
        staleAfterMs: config.staleAfterMs,
        publishPlan: (line) => {
          if (transport === null) return Promise.reject(new Error('openwrt adapter not started'));
          return transport.publish(`${prefix}/${apc.device}/plan`, line, 1);
        },
      }),
    );
  }

  const refuse = (device: string, what: string, payload: Buffer, reason: string): void => {
    counts.malformed++;
    ctx.logger.warn({ device, what, bytes: payload.length, reason }, `malformed ${what} from AP refused`);
  };

  const onMessage = (topic: string, payload: Buffer): void => {
    const parts = topic.split('/');
    if (parts.length !== 3 || parts[0] !== prefix) return;
    const ap = aps.get(parts[1]!);
    if (ap === undefined) {
      counts.unknownAps++;
      return;
    }
    switch (parts[2]) {
      case 'status': {
        const s = payload.toString('utf8').trim();
        if (s === 'online') ap.cameOnline();
        else if (s === 'offline') ap.wentOffline();
        return;
      }
      case 'report': {
        const parsed = UbusReportSchema.safeParse(parseJson(payload));
        if (!parsed.success) {
          refuse(ap.device, 'report', payload, formatPayloadError(toPayloadError(parsed.error)));
          return;
        }
        ap.report(parsed.data);
        return;
      }
      case 'ack': {
        const parsed = PlanAckSchema.safeParse(parseJson(payload));
        if (!parsed.success) {
          refuse(ap.device, 'ack', payload, formatPayloadError(toPayloadError(parsed.error)));
          return;
        }
        ap.ack(parsed.data);
        return;
      }
      default:
        return;
    }
  };

  const subscriptions = [`${prefix}/+/report`, `${prefix}/+/status`, `${prefix}/+/ack`];
  transport =
    config.url !== undefined
      ? await clientTransport(
          {
            url: config.url,
            username: config.username,
            password: config.password,
            clientId: `poste-${ctx.name}`,
            connectTimeoutMs: 10_000,
          },
          subscriptions,
          onMessage,
          ctx.logger,
        )
      : await embeddedTransport(config.host, config.port, subscriptions, (t) => t.endsWith('/plan'), onMessage, ctx.logger);
  const running = transport;
  ctx.logger.info({ ...running.stats(), aps: config.aps.length }, 'openwrt adapter started');

  return {
    kind: 'openwrt',
    listenPort: running.listenPort,
    sendCommand: (deviceId: string, cmd: DeviceCommand) => {
      const ap = aps.get(deviceId);
      if (ap === undefined) return Promise.reject(new Error(`${deviceId} is not a configured OpenWrt AP`));
      return ap.command(cmd);
    },
    stats: () => {
      let online = 0;
      let reboots = 0;
      let wraps = 0;
      for (const ap of aps.values()) {
        if (ap.online) online++;
        reboots += ap.reboots;
        wraps += ap.wraps;
      }
      return { ...running.stats(), apsOnline: online, reboots, counterWraps: wraps, ...counts };
    },
    stop: async () => {
      for (const ap of aps.values()) ap.stop();
      await running.close();
    },
  };
}

export const openWrtAdapter = {
  kind: 'openwrt',
  configSchema: OpenWrtAdapterConfigSchema,
  create: createOpenWrtAdapter,
} satisfies AdapterDescriptor<'openwrt', typeof OpenWrtAdapterConfigSchema>;

export { OpenWrtAdapterConfigSchema, type OpenWrtAdapterConfig, type OpenWrtApConfig } from './config';
export { tcCommands, planMessage, CLASS_IDS } from './tc-plan';
