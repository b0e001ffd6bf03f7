export { FirmwareFamilySchema, FirmwareManifestSchema, canonicalManifestBytes } from './image/manifest';
export type { FirmwareManifest, UnsignedManifest } from './image/manifest';
export {
  checkDigest,
  generateSigningKey,
  keyIdOf,
  parseTrustedKey,
  signDigest,
  signImage,
  TrustedKeyError,
  verifyImage,
  verifyManifest,
} from './image/sign-image';
export type { ImageMeta, SigningKey, VerifyResult } from './image/sign-image';
export { EXIT, CliError } from './cli/exit-codes';
export { bundleFiles, ProvisionDeviceListSchema, ProvisionDeviceSchema, SiteSchema } from './provision/bundle';
export type { ProvisionDevice, Site } from './provision/bundle';
export { checkGatewayHealth } from './gateway/gateway-health';
export type { HealthQuery, HealthReport } from './gateway/gateway-health';
