import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalManifestBytes, type FirmwareManifest, FirmwareManifestSchema, type UnsignedManifest } from './manifest';

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
  return signDigest(meta, { size: image.byteLength, sha256: createHash('sha256').update(image).digest('hex') }, privateKeyPem);
}

/**
 * Signs an image known by its size and sha256 (hashed as a stream by the caller, so a large
 * gateway image never has to fit in memory).
 */
export function signDigest(meta: ImageMeta, digest: { size: number; sha256: string }, privateKeyPem: string): FirmwareManifest {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key is ${privateKey.asymmetricKeyType}, not ed25519`);
  const unsigned: UnsignedManifest = {
    v: 1,
    family: meta.family,
    model: meta.model,
    version: meta.version,
    size: digest.size,
    sha256: digest.sha256,
    chunkSize: meta.chunkSize ?? 16_384,
    keyId: keyIdOf(createPublicKey(privateKey)),
  };
  const signature = sign(null, canonicalManifestBytes(unsigned), privateKey).toString('base64');
  return FirmwareManifestSchema.parse({ ...unsigned, signature });
}

export type VerifyResult = { ok: true; manifest: FirmwareManifest } | { ok: false; reason: string };

/** A trusted public key that is not an ed25519 public key in PEM: a broken trust file, not a failed verification. */
export class TrustedKeyError extends Error {}

/** Parses one trusted public key (PEM, SPKI); throws TrustedKeyError naming `source` and the reason. */
export function parseTrustedKey(pem: string, source = 'trusted key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new TrustedKeyError(`${source}: not a PEM public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new TrustedKeyError(`${source}: a ${key.asymmetricKeyType} key, not ed25519`);
  return key;
}

/**
 * Checks a manifest without its image: shape, a trusted key, the signature. Trusted keys that do
 * not parse throw TrustedKeyError (the trust store is broken, the image may be fine).
 */
export function verifyManifest(manifestInput: unknown, trustedPublicKeys: readonly (string | KeyObject)[]): VerifyResult {
  const keys = trustedPublicKeys.map((k, i) => (typeof k === 'string' ? parseTrustedKey(k, `trusted key #${i + 1}`) : k));
  const parsed = FirmwareManifestSchema.safeParse(manifestInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `manifest ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const manifest = parsed.data;
  const key = keys.find((k) => keyIdOf(k) === manifest.keyId);
  if (!key) return { ok: false, reason: `signing key ${manifest.keyId} is not trusted` };
  const { signature, ...unsigned } = manifest;
  if (!verify(null, canonicalManifestBytes(unsigned), key, Buffer.from(signature, 'base64'))) {
    return { ok: false, reason: 'signature does not match the manifest' };
  }
  return { ok: true, manifest };
}

/** Compares an image's size and sha256 with a verified manifest. */
export function checkDigest(manifest: FirmwareManifest, digest: { size: number; sha256: string }): VerifyResult {
  if (digest.size !== manifest.size) return { ok: false, reason: `image is ${digest.size} bytes, manifest says ${manifest.size}` };
  if (digest.sha256 !== manifest.sha256) return { ok: false, reason: 'image sha256 does not match the manifest' };
  return { ok: true, manifest };
}

/**
 * Verifies before install: manifest shape, a trusted key, the signature, then size and hash of the
 * image. Any failure names what failed so a technician knows whether the image or the key is wrong.
 */
export function verifyImage(image: Uint8Array, manifestInput: unknown, trustedPublicKeys: readonly (string | KeyObject)[]): VerifyResult {
  const r = verifyManifest(manifestInput, trustedPublicKeys);
  if (!r.ok) return r;
  return checkDigest(r.manifest, { size: image.byteLength, sha256: createHash('sha256').update(image).digest('hex') });
}
