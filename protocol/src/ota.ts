// Over-the-air updates: the signed manifest every image travels with, and the messages of a
// chunked, resumable transfer. Northbound (cloud ↔ agent, under the gateway's namespace):
//   ota/job    cloud → agent   what to install where (manifest, targets, force)       QoS 1, retained
//   ota/chunk  cloud → agent   one chunk, sent when the agent asks for it (pull)        QoS 1
//   ota/status agent → cloud   per target: phase, the next chunk wanted, outcome      QoS 1
// On the LAN (agent ↔ device): `dev/{device}/ota` carries begin/chunk/abort, the device answers
// on `dev/{device}/ota/status`. The receiver asks for chunk n only when it holds 0…n−1 verified,
// so a transfer resumes after any disconnect from the last good chunk.
import * as z from 'zod';
import { DeviceIdSchema, TimestampSchema } from './ids';

/** Device families Poste can flash. */
export const FirmwareFamilySchema = z.enum(['poste-native', 'tasmota', 'openwrt', 'gateway-agent']);
export type FirmwareFamily = z.infer<typeof FirmwareFamilySchema>;

export const SemverSchema = z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'semantic version, e.g. 1.4.2');

/**
 * What travels with a firmware image: enough to verify it before install (sha256 + ed25519
 * signature over the canonical manifest) and to transfer it in resumable chunks.
 */
export const FirmwareManifestSchema = z.object({
  v: z.literal(1),
  family: FirmwareFamilySchema,
  model: z.string().min(1).max(64).describe('the target model the image is built for'),
  version: SemverSchema,
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

/** Number of chunks of an image. */
export function chunkCount(m: Pick<FirmwareManifest, 'size' | 'chunkSize'>): number {
  return Math.ceil(m.size / m.chunkSize);
}

const JobIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'job id: 1-64 chars of A-Z a-z 0-9 . _ -');

/** Who forced a downgrade and why: recorded by the device with the install (the audit trail). */
export const ForceSchema = z.object({ by: z.string().min(1).max(64), reason: z.string().min(1).max(300) }).strict();

/** Cloud → agent on `poste/v1/gw/{gw}/ota/job` (retained: the job in force for this gateway). */
export const OtaJobSchema = z.object({
  v: z.literal(1),
  jobId: JobIdSchema,
  rolloutId: z.string().max(64).optional(),
  manifest: FirmwareManifestSchema,
  /** device ids, or the gateway's own agent */
  targets: z
    .array(z.union([DeviceIdSchema, z.literal('$gateway')]))
    .min(1)
    .max(5_000),
  /** install an older version than the one running (audited) */
  force: ForceSchema.optional(),
  issuedAt: TimestampSchema,
});
export type OtaJob = z.infer<typeof OtaJobSchema>;

/** Cloud → agent on `poste/v1/gw/{gw}/ota/chunk`: one chunk, answering the agent's request. */
export const OtaChunkSchema = z.object({
  v: z.literal(1),
  jobId: JobIdSchema,
  index: z.number().int().min(0),
  data: z.string().max(1_400_000).describe('base64 of the chunk bytes'),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('of the chunk bytes: a corrupted chunk is dropped and asked for again'),
});
export type OtaChunk = z.infer<typeof OtaChunkSchema>;

export const OtaPhaseSchema = z.enum([
  'downloading', // the agent fetches chunks from the cloud (`next` = chunk wanted)
  'transferring', // the device receives chunks from the agent (`next` = chunk wanted)
  'installing', // verified and written to the inactive slot, booting it for the health check
  'committed', // the new slot passed its health check and is now the default
  'rolledBack', // the new slot failed its health check; the old one runs again
  'refused', // refused before install (signature, hash, family, model, downgrade): detail says which
  'failed', // could not complete (write error, timeout)
]);
export type OtaPhase = z.infer<typeof OtaPhaseSchema>;

/** Agent → cloud on `poste/v1/gw/{gw}/ota/status`, one per target and change. */
export const OtaStatusSchema = z.object({
  v: z.literal(1),
  jobId: JobIdSchema,
  /** the target this status is about; absent = the gateway's own download of the job's image */
  target: z.union([DeviceIdSchema, z.literal('$gateway')]).optional(),
  phase: OtaPhaseSchema,
  /** the chunk wanted next (downloading/transferring) */
  next: z.number().int().min(0).optional(),
  /** the version running after this phase */
  running: SemverSchema.optional(),
  detail: z.string().max(500).optional(),
  ts: TimestampSchema,
});
export type OtaStatus = z.infer<typeof OtaStatusSchema>;

/** Agent → device on `poste/v1/dev/{dev}/ota`. */
export const LocalOtaSchema = z.discriminatedUnion('type', [
  z.object({
    v: z.literal(1),
    type: z.literal('begin'),
    jobId: JobIdSchema,
    manifest: FirmwareManifestSchema,
    force: ForceSchema.optional(),
  }),
  z.object({
    v: z.literal(1),
    type: z.literal('chunk'),
    jobId: JobIdSchema,
    index: z.number().int().min(0),
    data: z.string().max(1_400_000),
  }),
  z.object({ v: z.literal(1), type: z.literal('abort'), jobId: JobIdSchema }),
]);
export type LocalOta = z.infer<typeof LocalOtaSchema>;

/** Device → agent on `poste/v1/dev/{dev}/ota/status`: the device side of OtaStatus. */
export const LocalOtaStatusSchema = OtaStatusSchema.omit({ target: true });
export type LocalOtaStatus = z.infer<typeof LocalOtaStatusSchema>;
