import * as z from 'zod';

/** Ids appear in MQTT topics and as InfluxDB tag values: keep them topic-safe and bounded. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const GatewayIdSchema = z.string().regex(ID_PATTERN, 'gateway id: 1-64 chars of A-Z a-z 0-9 . _ -, starting alphanumeric');
export const DeviceIdSchema = z.string().regex(ID_PATTERN, 'device id: 1-64 chars of A-Z a-z 0-9 . _ -, starting alphanumeric');
export const GroupIdSchema = z.string().regex(ID_PATTERN, 'group id: 1-64 chars of A-Z a-z 0-9 . _ -, starting alphanumeric');
export const MunicipalityIdSchema = z.string().regex(ID_PATTERN, 'municipality id: 1-64 chars of A-Z a-z 0-9 . _ -, starting alphanumeric');

/** Milliseconds since the Unix epoch (UTC), as measured by the device's clock. */
export const TimestampSchema = z.number().int().nonnegative().describe('ms since Unix epoch, UTC');

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
