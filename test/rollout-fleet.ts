// A small fleet for rollout tests: real agents (with their OTA extension) on a real broker, each
// with simulated LAN devices that verify, install into their B slot and commit or roll back after
// their health check. Support module for test/rollout-*.test.ts.
import { join } from 'node:path';
import { otaExtension, startAgent, type Agent } from '@poste/agent';
import { generateSigningKey, signImage, type SigningKey } from '@poste/firmware-bridge';
import type { FirmwareManifest } from '@poste/protocol';
import { OtaDevice, OtaLanDevice, SlotStorage } from '@poste/simulators';
import { waitFor } from './harness/free-port';

export interface FleetDevice {
  gateway: string;
  id: string;
  device: OtaDevice;
}

export interface Fleet {
  agents: Agent[];
  devices: FleetDevice[];
  close(): Promise<void>;
}

export interface GatewaySpec {
  id: string;
  password: string;
  /** device ids; those listed in `unhealthy` fail the new image's health check */
  devices: string[];
}

export const MODEL = 'lc-200';

export function signedImage(key: SigningKey, version: string, bytes = 4_000): { image: Buffer; manifest: FirmwareManifest } {
  const image = Buffer.concat([Buffer.from('{"selfTest":"pass"}\n'), Buffer.alloc(bytes, version)]);
  return { image, manifest: signImage(image, { family: 'poste-native', model: MODEL, version, chunkSize: 256 }, key.privateKeyPem) };
}

export function newKey(): SigningKey {
  return generateSigningKey();
}

export async function startFleet(o: {
  dir: string;
  mqttUrl: string;
  key: SigningKey;
  gateways: GatewaySpec[];
  unhealthy?: string[];
}): Promise<Fleet> {
  const agents: Agent[] = [];
  const devices: FleetDevice[] = [];
  const lans: OtaLanDevice[] = [];
  for (const g of o.gateways) {
    const agent = await startAgent({
      gatewayId: g.id,
      north: { url: o.mqttUrl, username: g.id, password: g.password, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } },
      local: { host: '127.0.0.1', port: 0 },
      dataDir: join(o.dir, g.id),
      dimming: { enabled: false },
      extensions: [otaExtension({ dir: join(o.dir, g.id, 'ota'), retryMs: 300 })],
      logLevel: 'silent',
    });
    agents.push(agent);
    await agent.whenNorthConnected();
    for (const id of g.devices) {
      const unhealthy = o.unhealthy?.includes(id) ?? false;
      const device = new OtaDevice({
        family: 'poste-native',
        model: MODEL,
        trustedKeysPem: [o.key.publicKeyPem],
        storage: new SlotStorage({ dir: join(o.dir, g.id, 'dev', id), factoryVersion: '1.0.0' }),
        ...(unhealthy ? { healthCheck: () => false } : {}),
        now: () => Date.now(),
      });
      lans.push(
        await OtaLanDevice.connect({
          url: `mqtt://127.0.0.1:${agent.localPort}`,
          deviceId: id,
          kind: 'luminaire',
          model: MODEL,
          device,
          now: () => Date.now(),
        }),
      );
      devices.push({ gateway: g.id, id, device });
    }
    await waitFor(`${g.id} sees its devices`, () => g.devices.every((id) => agent.devices().some((d) => d.id === id)), 5_000);
  }
  return {
    agents,
    devices,
    async close() {
      for (const l of lans) await l.close();
      for (const a of agents) await a.stop();
    },
  };
}
