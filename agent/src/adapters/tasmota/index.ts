// The Tasmota adapter: luminaire controllers running Tasmota, in Tasmota's own MQTT topics
// (tele/…/SENSOR, STATE, LWT; stat/…/RESULT, POWER; cmnd/…/Dimmer, Power) under a configurable
// FullTopic, either served on an embedded broker or read from a broker already on the gateway.
// See README.md here for the mapping tables.
import type { DeviceCommand } from '@poste/protocol';
import type { AdapterContext, AdapterDescriptor, DeviceAdapter } from '../types';
import { TasmotaAdapterConfigSchema, type TasmotaAdapterConfig } from './config';
import { TasmotaController } from './controller';
import { FullTopic } from './full-topic';
import { parseTasmotaJson } from './mapping';
import { clientTransport, embeddedTransport, type MqttTransport } from '../mqtt-transport';

export interface TasmotaStats {
  devicesOnline: number;
  unknownTopics: number;
  malformed: number;
  reboots: number;
  droppedPending: number;
}

async function createTasmotaAdapter(config: TasmotaAdapterConfig, ctx: AdapterContext): Promise<DeviceAdapter> {
  const fullTopic = new FullTopic(config.fullTopic, config.prefixes);
  const counts = { unknownTopics: 0, malformed: 0 };
  const byTopic = new Map<string, TasmotaController>();
  const byDevice = new Map<string, TasmotaController>();
  let transport: MqttTransport | null = null;

  for (const dc of config.devices) {
    const controller = new TasmotaController(dc, {
      sink: ctx.sink,
      clock: ctx.clock,
      timers: ctx.timers,
      maxPending: config.maxPendingPerDevice,
      publish: (name, payload) => {
        if (transport === null) return Promise.reject(new Error('tasmota adapter not started'));
        return transport.publish(fullTopic.build('cmnd', dc.topic, name), payload);
      },
      onProgramSendFailed: (err) => ctx.logger.warn({ device: dc.device, err: err.message }, 'could not restore the program level'),
    });
    byTopic.set(dc.topic, controller);
    byDevice.set(dc.device, controller);
  }

  const onMessage = (mqttTopic: string, payload: Buffer): void => {
    const parsed = fullTopic.parse(mqttTopic);
    const controller = parsed === null ? undefined : byTopic.get(parsed.topic);
    if (parsed === null || controller === undefined) {
      counts.unknownTopics++;
      return;
    }
    const { prefix, name } = parsed;
    if (prefix === 'tele' && name === 'LWT') {
      const text = payload.toString('utf8').trim();
      if (text === 'Online') controller.cameOnline();
      else if (text === 'Offline') controller.wentOffline();
      // An empty payload clears the retained LWT: nothing to do.
      return;
    }
    if (prefix === 'stat' && name === 'POWER') {
      controller.observe({ POWER: payload.toString('utf8').trim() });
      return;
    }
    if (!((prefix === 'tele' && (name === 'SENSOR' || name === 'STATE')) || (prefix === 'stat' && name === 'RESULT'))) return;
    // A controller that speaks is online even if its retained LWT was missed.
    controller.cameOnline();
    const json = parseTasmotaJson(payload);
    if (json === null) {
      counts.malformed++;
      // Readings go to the agent anyway: it refuses them and counts the refusal under this adapter.
      if (name === 'SENSOR') ctx.sink.telemetry(controller.device, payload);
      else ctx.logger.warn({ device: controller.device, topic: mqttTopic }, 'malformed Tasmota JSON ignored');
      return;
    }
    if (name === 'SENSOR') controller.sensor(json);
    else if (name === 'STATE') controller.observe(json);
    else controller.result(json);
  };

  const subscriptions = [fullTopic.subscription('tele'), fullTopic.subscription('stat')];
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
      : await embeddedTransport(
          config.host,
          config.port,
          subscriptions,
          (t) => fullTopic.parse(t)?.prefix === 'cmnd',
          onMessage,
          ctx.logger,
        );
  const running = transport;
  ctx.logger.info({ ...running.stats(), devices: config.devices.length }, 'tasmota adapter started');

  return {
    kind: 'tasmota',
    listenPort: running.listenPort,
    sendCommand: (deviceId: string, cmd: DeviceCommand) => {
      const controller = byDevice.get(deviceId);
      if (controller === undefined) return Promise.reject(new Error(`${deviceId} is not a configured Tasmota controller`));
      return controller.command(cmd);
    },
    stats: () => {
      let online = 0;
      let reboots = 0;
      let droppedPending = 0;
      for (const c of byDevice.values()) {
        if (c.online) online++;
        reboots += c.reboots;
        droppedPending += c.droppedPending;
      }
      const s: TasmotaStats = { devicesOnline: online, reboots, droppedPending, ...counts };
      return { ...running.stats(), ...s };
    },
    stop: async () => {
      for (const c of byDevice.values()) c.stop();
      await running.close();
    },
  };
}

export const tasmotaAdapter = {
  kind: 'tasmota',
  configSchema: TasmotaAdapterConfigSchema,
  create: createTasmotaAdapter,
} satisfies AdapterDescriptor<'tasmota', typeof TasmotaAdapterConfigSchema>;

export { TasmotaAdapterConfigSchema, type TasmotaAdapterConfig } from './config';
export { FullTopic } from './full-topic';
