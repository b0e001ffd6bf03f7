// The manifest is part of the MQTT contract (an OTA job carries it to the device that verifies
// it), so its schema and canonical bytes live in @poste/protocol; re-exported here for signers.
export {
  canonicalManifestBytes,
  type FirmwareManifest,
  FirmwareFamilySchema,
  FirmwareManifestSchema,
  type UnsignedManifest,
} from '@poste/protocol';
