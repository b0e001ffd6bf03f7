export {
  DiskSpool,
  SpoolFullError,
  spoolDirBytes,
  type OverflowPolicy,
  type SpoolOptions,
  type SpoolRecord,
  type SpoolStats,
} from './disk-spool';
export { crc32 } from './crc32';
export { decodeRecord, encodeRecord, scanRecords, HEADER_BYTES, MAX_RECORD_BYTES } from './record-format';
