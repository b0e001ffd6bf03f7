import { crc32 } from './crc32';

// One record on disk:
//   u32 LE  payload length
//   u32 LE  CRC-32 of bytes 8..16 of the header followed by the payload
//   f64 LE  appendedAt (ms since the epoch: the "oldest unsent" age is measured from it)
//   payload
// The checksum covers the timestamp and the payload, so a torn write (power lost halfway) or a
// flipped bit is found on recovery; the length is checked against a ceiling before it is trusted.
export const HEADER_BYTES = 16;

/** Records larger than this are refused on append and treated as corruption on read. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export function encodeRecord(payload: Uint8Array, appendedAt: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeDoubleLE(appendedAt, 8);
  out.set(payload, HEADER_BYTES);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

export interface DecodedRecord {
  payload: Buffer;
  appendedAt: number;
  /** bytes the record takes on disk, header included */
  size: number;
}

export type DecodeResult =
  | { ok: true; record: DecodedRecord }
  /** `truncated`: fewer bytes than the header announces (a torn tail); `corrupt`: checksum or length wrong. */
  | { ok: false; reason: 'truncated' | 'corrupt' };

/** Decodes the record starting at `offset` of `buf` (which may end early). */
export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  if (buf.length - offset < HEADER_BYTES) return { ok: false, reason: 'truncated' };
  const length = buf.readUInt32LE(offset);
  if (length > MAX_RECORD_BYTES) return { ok: false, reason: 'corrupt' };
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length) return { ok: false, reason: 'truncated' };
  const stored = buf.readUInt32LE(offset + 4);
  if (crc32(buf.subarray(offset + 8, end)) !== stored) return { ok: false, reason: 'corrupt' };
  return {
    ok: true,
    record: { payload: buf.subarray(offset + HEADER_BYTES, end), appendedAt: buf.readDoubleLE(offset + 8), size: end - offset },
  };
}

export interface ScanResult {
  /** appendedAt of each whole, valid record, in order */
  appendedAt: number[];
  /** byte offset just after the last valid record: where a torn or corrupt tail is cut */
  validBytes: number;
  /** why the scan stopped before the end of the buffer, if it did */
  stoppedBy: 'truncated' | 'corrupt' | null;
}

/** Walks a whole segment file's bytes, stopping at the first record that is not whole and valid. */
export function scanRecords(buf: Buffer): ScanResult {
  const appendedAt: number[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const r = decodeRecord(buf, offset);
    if (!r.ok) return { appendedAt, validBytes: offset, stoppedBy: r.reason };
    appendedAt.push(r.record.appendedAt);
    offset += r.record.size;
  }
  return { appendedAt, validBytes: offset, stoppedBy: null };
}
