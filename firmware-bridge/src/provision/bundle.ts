// The config bundle a provisioned gateway boots with: who it is (site, municipality), where the
// cloud is (broker URL, CA) and its devices with their LAN credentials.
import { randomBytes } from 'node:crypto';
import { DeviceIdSchema, DeviceKindSchema, GatewayIdSchema, GroupIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import { z } from 'zod';
import type { TarEntry } from './ustar';

/** One device in the technician's device list (`--devices FILE`, a JSON array). */
export const ProvisionDeviceSchema = z
  .object({
    id: DeviceIdSchema,
    kind: DeviceKindSchema,
    model: z.string().min(1).max(64),
    group: GroupIdSchema.optional(),
  })
  .strict();
export const ProvisionDeviceListSchema = z.array(ProvisionDeviceSchema).max(5_000);
export type ProvisionDevice = z.infer<typeof ProvisionDeviceSchema>;

export const SiteSchema = z.object({
  gatewayId: GatewayIdSchema,
  site: z.string().min(1).max(200).describe('where the gateway hangs, e.g. "Rua Direita cabinet 3"'),
  municipality: MunicipalityIdSchema,
  brokerUrl: z.string().regex(/^(mqtt|mqtts|ws|wss):\/\//, 'mqtt://, mqtts://, ws:// or wss://'),
  provisionedAt: z.iso.datetime(),
  devices: z.array(ProvisionDeviceSchema.extend({ lan: z.object({ username: z.string(), password: z.string() }) })),
});
export type Site = z.infer<typeof SiteSchema>;

export interface BundleInput {
  gatewayId: string;
  site: string;
  municipality: string;
  brokerUrl: string;
  /** the broker password the credentials store generated for this gateway */
  password: string;
  caPem?: string | undefined;
  /** ed25519 public keys (PEM) the gateway trusts to sign updates of its own agent */
  otaTrustPem?: string | undefined;
  devices: readonly ProvisionDevice[];
  now: Date;
}

/**
 * The files of the bundle: agent.json (a poste-agent config), site.json (identity and devices with
 * their LAN credentials), ca.pem and ota-trust.pem when given. agent.json and site.json are
 * owner-readable only: they hold secrets; the CA and the public keys are not secret.
 */
export function bundleFiles(input: BundleInput): TarEntry[] {
  const devices = input.devices.map((d) => ({ ...d, lan: { username: d.id, password: randomBytes(18).toString('base64url') } }));
  const site: Site = SiteSchema.parse({
    gatewayId: input.gatewayId,
    site: input.site,
    municipality: input.municipality,
    brokerUrl: input.brokerUrl,
    provisionedAt: input.now.toISOString(),
    devices,
  });
  const agent = {
    configVersion: 2,
    gatewayId: input.gatewayId,
    north: {
      url: input.brokerUrl,
      username: input.gatewayId,
      password: input.password,
      ...(input.caPem ? { tls: { caFile: '/etc/poste/ca.pem' } } : {}),
    },
    adapters: [{ kind: 'poste', host: '0.0.0.0', port: 1884 }],
    dataDir: '/var/lib/poste-agent',
  };
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  return [
    { name: 'agent.json', data: json(agent), mode: 0o600 },
    { name: 'site.json', data: json(site), mode: 0o600 },
    ...(input.caPem ? [{ name: 'ca.pem', data: Buffer.from(input.caPem), mode: 0o644 }] : []),
    // Where the installed unit's --ota-trust points (/etc/poste/ota-trust.pem): without it the
    // gateway refuses every update of its own agent.
    ...(input.otaTrustPem ? [{ name: 'ota-trust.pem', data: Buffer.from(input.otaTrustPem), mode: 0o644 }] : []),
  ];
}
