import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalManifestBytes, FirmwareManifestSchema, type FirmwareManifest, type UnsignedManifest } from './manifest';

export interface SigningKey {
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/** keyId = first 16 hex chars of sha256 over the public key (SPKI DER): short, stable, unforgeable enough to pick a key. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface ImageMeta {
  family: FirmwareManifest['family'];
  model: string;
  version: string;
  chunkSize?: number;
}

/** Signs an image: hashes it, builds the manifest and signs its canonical bytes with ed25519. */
export function signImage(image: Uint8Array, meta: ImageMeta, privateKeyPem: string): FirmwareManifest {
  const privateKey = createPrivateKey(privateKeyPem);
  const unsigned: UnsignedManifest = {
    v: 1,
    family: meta.family,
    model: meta.model,
    version: meta.version,
    size: image.byteLength,
    sha256: createHash('sha256').update(image).digest('hex'),
    chunkSize: meta.chunkSize ?? 16_384,
    keyId: keyIdOf(createPublicKey(privateKey)),
  };
  const signature = sign(null, canonicalManifestBytes(unsigned), privateKey).toString('base64');
  return FirmwareManifestSchema.parse({ ...unsigned, signature });
}

export type VerifyResult = { ok: true; manifest: FirmwareManifest } | { ok: false; reason: string };

/**
 * Verifies before install: manifest shape, a trusted key, the signature, then size and hash of the
 * image. Any failure names what failed so a technician knows whether the image or the key is wrong.
 */
export function verifyImage(image: Uint8Array, manifestInput: unknown, trustedPublicKeysPem: readonly string[]): VerifyResult {
  const parsed = FirmwareManifestSchema.safeParse(manifestInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `manifest ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const manifest = parsed.data;
  const key = trustedPublicKeysPem.map((pem) => createPublicKey(pem)).find((k) => keyIdOf(k) === manifest.keyId);
  if (!key) return { ok: false, reason: `signing key ${manifest.keyId} is not trusted` };
  const { signature, ...unsigned } = manifest;
  if (!verify(null, canonicalManifestBytes(unsigned), key, Buffer.from(signature, 'base64'))) {
    return { ok: false, reason: 'signature does not match the manifest' };
  }
  if (image.byteLength !== manifest.size) {
    return { ok: false, reason: `image is ${image.byteLength} bytes, manifest says ${manifest.size}` };
  }
  const digest = createHash('sha256').update(image).digest('hex');
  if (digest !== manifest.sha256) return { ok: false, reason: 'image sha256 does not match the manifest' };
  return { ok: true, manifest };
}
