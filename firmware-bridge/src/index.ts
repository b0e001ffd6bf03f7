export { FirmwareFamilySchema, FirmwareManifestSchema, canonicalManifestBytes } from './image/manifest';
export type { FirmwareManifest, UnsignedManifest } from './image/manifest';
export { generateSigningKey, keyIdOf, signImage, verifyImage } from './image/sign-image';
export type { ImageMeta, SigningKey, VerifyResult } from './image/sign-image';
