import type { PayloadError } from './decode';

/**
 * Deepest nesting of arrays/objects any Poste payload needs. The deepest contract payload — a
 * desired config with its scheduler (calendar → program → step → condition) — is well under 16
 * levels; 32 leaves room for growth while every recursive consumer (zod, JSON.stringify of a
 * dead-letter excerpt, a logger) stays far from the stack limit, which a 200,000-deep payload blows.
 */
export const MAX_JSON_DEPTH = 32;

/** Largest JSON payload parsed: the broker's PUBLISH payload cap (a 5,000-reading batch is ~1.5 MB). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

export interface JsonBounds {
  maxDepth?: number;
  maxBytes?: number;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Byte classes: 0 = nothing to do (most bytes: one table load and one compare), 1 = a string starts, 2 = open, 3 = close. */
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
const CLASS = new Uint8Array(256);
CLASS[QUOTE] = STRING;
CLASS[OPEN_BRACE] = OPEN;
CLASS[OPEN_BRACKET] = OPEN;
CLASS[0x7d] = CLOSE; // }
CLASS[0x5d] = CLOSE; // ]

/**
 * Checks size and nesting depth of JSON bytes *before* they are parsed, in one pass without
 * recursion or allocation, so a hostile payload is refused before anything recursive sees it.
 * Brackets inside strings do not count. Malformed JSON is left for JSON.parse to report; this only
 * answers "too big" or "too deep", naming where the limit was crossed (byte offset). On a large
 * batch the loop costs about half of JSON.parse (a byte-class table keeps the common byte to one load and one compare).
 */
export function checkJsonBounds(bytes: Uint8Array, bounds: JsonBounds = {}): PayloadError | null {
  const maxBytes = bounds.maxBytes ?? MAX_JSON_BYTES;
  const maxDepth = bounds.maxDepth ?? MAX_JSON_DEPTH;
  const n = bytes.length;
  const tooLarge = checkJsonSize(n, maxBytes);
  if (tooLarge) return tooLarge;
  // Nesting cannot go deeper than the number of opening brackets: counting them with the native
  // indexOf settles the common small payload (a 10-reading batch has 12) without the byte loop.
  if (fewerOpeningsThan(bytes, maxDepth + 1)) return null;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const k = CLASS[bytes[i]!]!;
    if (k === 0) continue;
    if (k === STRING) {
      for (i++; i < n; i++) {
        const c = bytes[i]!;
        if (c === QUOTE) break;
        if (c === BACKSLASH) i++;
      }
    } else if (k === OPEN) {
      if (++depth > maxDepth) return { path: '', reason: `JSON nested deeper than ${maxDepth} levels (at byte ${i})` };
    } else depth--;
  }
  return null;
}

/**
 * Bytes per opening bracket above which a payload may be parsed before its depth is scanned. V8's
 * JSON.parse is iterative (no stack overflow at any depth), but each array or object costs it about
 * 250 ns: 4 MB of nested brackets took 420–580 ms to parse, 30× a flat 4 MB batch (14–20 ms). At
 * most one container per 64 bytes bounds any such parse near a flat payload's cost; a luminaire
 * reading has one per ~230 bytes.
 */
export const PARSE_FIRST_MIN_BYTES_PER_CONTAINER = 64;

/** True when `bytes` has few enough `{`/`[` to be parsed before the depth scan (decode.ts, batches). Counted with the native indexOf: ~9 µs for a 500-reading batch, against ~125 µs for the scan. */
export function parsesCheaply(bytes: Uint8Array): boolean {
  return fewerOpeningsThan(bytes, Math.ceil(bytes.length / PARSE_FIRST_MIN_BYTES_PER_CONTAINER));
}

/** The size bound alone (checkJsonBounds checks it first): `n` bytes against `maxBytes`. */
export function checkJsonSize(n: number, maxBytes: number = MAX_JSON_BYTES): PayloadError | null {
  return n > maxBytes ? { path: '', reason: `payload of ${n} bytes is over the ${maxBytes}-byte limit` } : null;
}

/** Which bound a parse refusal from parseJson names, if any (for counting refusals by reason). */
export function jsonBoundExceeded(e: PayloadError): 'too-deep' | 'too-large' | undefined {
  if (e.path !== '') return undefined;
  if (e.reason.startsWith('JSON nested deeper than')) return 'too-deep';
  if (e.reason.startsWith('payload of ')) return 'too-large';
  return undefined;
}

/** True when `bytes` holds fewer than `limit` `{` and `[` together (brackets in strings count too). */
function fewerOpeningsThan(bytes: Uint8Array, limit: number): boolean {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let seen = 0;
  for (const open of [OPEN_BRACE, OPEN_BRACKET]) {
    let at = buf.indexOf(open);
    while (at !== -1) {
      if (++seen >= limit) return false;
      at = buf.indexOf(open, at + 1);
    }
  }
  return true;
}
