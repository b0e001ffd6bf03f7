// The Poste adapter: devices speaking Poste's own LAN topics (`poste/v1/dev/{dev}/…`) to an
// embedded MQTT broker on the gateway. Payloads are already Poste-shaped, so it hands the raw
// bytes to the sink unchanged; the agent parses, validates and spools them before the device's
// PUBACK (lan-broker.ts), and a value the agent could not store is not acknowledged.
import type { DeviceCommand } from '@poste/protocol';
import type { AdapterContext, AdapterDescriptor, DeviceAdapter } from '../types';
import { PosteAdapterConfigSchema, type PosteAdapterConfig } from './config';
import { loadDeviceCredentials } from './device-credentials';
import { LanBroker, type LanAccess } from './lan-broker';

async function createPosteAdapter(config: PosteAdapterConfig, ctx: AdapterContext): Promise<DeviceAdapter> {
  const { sink } = ctx;
  const access: LanAccess =
    config.auth.mode === 'credentials'
      ? { mode: 'credentials', credentials: await loadDeviceCredentials(config.auth.credentialsFile) }
      : { mode: 'open' };
  const broker = await LanBroker.start(
    config.host,
    config.port,
    {
      // One topic carries births and wills alike (the status field tells them apart).
      localDeviceState: (dev, payload) => sink.state(dev, payload),
      localTelemetry: (dev, payload) => sink.telemetry(dev, payload),
      localEvent: (dev, payload) => sink.event(dev, payload),
      localAck: (dev, payload) => sink.ack(dev, payload),
      localOtaStatus: (dev, payload) => sink.otaStatus(dev, payload),
    },
    ctx.logger,
    access,
    config.limits,
  );
  if (access.mode === 'open') {
    ctx.logger.warn(
      { host: config.host, port: broker.port, auth: 'open' },
      '!!! LAN broker OPEN: any client on this network may connect, read every command, and speak for any device. For simulators and test rigs only; provision device credentials (auth.mode "credentials") for a real street. !!!',
    );
  } else {
    ctx.logger.info(
      { host: config.host, port: broker.port, devices: access.credentials.size },
      'poste LAN broker listening (device credentials)',
    );
  }
  return {
    kind: 'poste',
    listenPort: broker.port,
    sendCommand: (deviceId: string, cmd: DeviceCommand) => broker.sendCommand(deviceId, cmd),
    sendOta: (deviceId, msg) => broker.sendOta(deviceId, msg),
    stats: () => ({
      host: config.host,
      port: broker.port,
      auth: config.auth.mode,
      connectedClients: broker.connectedClients,
      ...broker.stats(),
    }),
    stop: () => broker.close(),
  };
}

export const posteAdapter = {
  kind: 'poste',
  configSchema: PosteAdapterConfigSchema,
  create: createPosteAdapter,
} satisfies AdapterDescriptor<'poste', typeof PosteAdapterConfigSchema>;

export { PosteAdapterConfigSchema, type PosteAdapterConfig } from './config';
export { generateDeviceSecret, hashDeviceSecret, parseDeviceCredentials, DeviceCredentialsFileSchema } from './device-credentials';
