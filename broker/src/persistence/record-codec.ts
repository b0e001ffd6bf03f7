/**
 * On-disk record framing shared by the journal and the snapshot: one record per line,
 * `CRC32(hex, 8 chars) SPACE JSON LF`. The CRC covers the JSON bytes, so a torn write (power cut,
 * SIGKILL mid-write) or a flipped bit is detected and the file is cut there instead of being
 * misread. JSON never contains a raw LF (it escapes it inside strings), so LF is a safe separator.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, the zlib one); implemented here because zlib.crc32 needs Node ≥ 20.15. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Buffers (payloads, MQTT 5 correlation data) are written as `{ [BUFFER_TAG]: base64 }`. The tag is
 * a name no MQTT packet field uses, so the reviver cannot mistake user data for a buffer.
 */
const BUFFER_TAG = '$poste.buffer.base64';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify has already called Buffer#toJSON on `value`; the raw field is still on `this`.
  const raw = this[key];
  if (raw instanceof Uint8Array) return { [BUFFER_TAG]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = (value as Record<string, unknown>)[BUFFER_TAG];
    if (typeof tagged === 'string' && Object.keys(value).length === 1) return Buffer.from(tagged, 'base64');
  }
  return value;
}

/** One framed line (with its trailing LF) for a JSON-serialisable record. */
export function encodeRecord(record: unknown): string {
  const json = JSON.stringify(record, replacer);
  const crc = crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0');
  return `${crc} ${json}\n`;
}

export interface DecodedRecords {
  records: unknown[];
  /** bytes from the start of the file up to the end of the last good record */
  validBytes: number;
  /** why decoding stopped before the end of the data (undefined: every byte was a good record) */
  problem?: { offset: number; reason: string };
}

const LF = 0x0a;
const SPACE = 0x20;

/**
 * Decodes framed records up to the first bad one: a line without its LF (torn write), a CRC
 * mismatch or unparsable JSON. Everything after it is reported as unusable — a journal is a
 * sequence, and a record after a gap could depend on the lost one.
 */
export function decodeRecords(data: Buffer): DecodedRecords {
  const records: unknown[] = [];
  let pos = 0;
  while (pos < data.length) {
    const lf = data.indexOf(LF, pos);
    if (lf === -1) return { records, validBytes: pos, problem: { offset: pos, reason: 'torn record (no line end)' } };
    const bad = checkLine(data, pos, lf);
    if (typeof bad === 'string') return { records, validBytes: pos, problem: { offset: pos, reason: bad } };
    records.push(bad.record);
    pos = lf + 1;
  }
  return { records, validBytes: pos };
}

function checkLine(data: Buffer, start: number, lf: number): string | { record: unknown } {
  if (lf - start < 10 || data[start + 8] !== SPACE) return 'malformed record frame';
  const expected = Number.parseInt(data.toString('latin1', start, start + 8), 16);
  if (!Number.isInteger(expected)) return 'malformed record checksum';
  if (crc32(data, start + 9, lf) !== expected) return 'checksum mismatch';
  try {
    return { record: JSON.parse(data.toString('utf8', start + 9, lf), reviver) };
  } catch (err) {
    return `unparsable record: ${(err as Error).message}`;
  }
}
