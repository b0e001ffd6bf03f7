import { z } from 'zod';

/** Device families Poste can flash; each gets an adapter in a later iteration of this package. */
export const FirmwareFamilySchema = z.enum(['poste-native', 'tasmota', 'openwrt', 'gateway-agent']);

/**
 * What travels with a firmware image: enough to verify it before install (sha256 + ed25519
 * signature over the canonical manifest) and to transfer it in resumable chunks.
 */
export const FirmwareManifestSchema = z.object({
  v: z.literal(1),
  family: FirmwareFamilySchema,
  model: z.string().min(1).max(64),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'semantic version, e.g. 1.4.2'),
  size: z.number().int().min(1).describe('bytes'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex sha256'),
  chunkSize: z.number().int().min(256).max(1_048_576).describe('bytes per OTA chunk'),
  keyId: z.string().regex(/^[0-9a-f]{16}$/, '16 hex chars: sha256 prefix of the signing public key'),
  signature: z.string().min(1).describe('base64 ed25519 signature of the manifest without this field'),
});
export type FirmwareManifest = z.infer<typeof FirmwareManifestSchema>;
export type UnsignedManifest = Omit<FirmwareManifest, 'signature'>;

/** The bytes that get signed: the manifest fields in a fixed order, so signing is reproducible. */
export function canonicalManifestBytes(m: UnsignedManifest): Buffer {
  const ordered = [m.v, m.family, m.model, m.version, m.size, m.sha256, m.chunkSize, m.keyId];
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}
