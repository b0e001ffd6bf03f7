/** Why a connection's byte stream was cut. */
export type FrameViolation =
  /** a packet announced a remaining length over the cap in force */
  | { reason: 'packet-too-large'; announced: number; limit: number }
  /** more bytes before authentication than the pre-auth allowance */
  | { reason: 'too-much-before-auth'; received: number; limit: number }
  /** a remaining length encoded in more than 4 bytes (MQTT 3.1.1 §2.2.3) */
  | { reason: 'malformed-length' };

/**
 * Follows MQTT framing as bytes arrive, without keeping them: only the fixed header's remaining
 * length (a variable-byte integer, 1–4 bytes) is decoded, then the body is counted and skipped.
 * So a packet announcing 250 MB is refused when its 2nd–5th byte arrives, before Aedes' parser
 * (mqtt-packet) would start buffering it.
 */
export class MqttFrameScanner {
  #inHeader = true;
  #lengthBytes = 0;
  #length = 0;
  #multiplier = 1;
  #bodyLeft = 0;

  /** @param limit the largest remaining length allowed now (read on each packet: it rises after auth) */
  constructor(private readonly limit: () => number) {}

  /** Scans one chunk; returns the first violation found, or undefined when the chunk is fine. */
  feed(chunk: Buffer): FrameViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const skip = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#inHeader) {
        // first byte: packet type and flags; the remaining length follows
        this.#inHeader = false;
        this.#lengthBytes = 0;
        this.#length = 0;
        this.#multiplier = 1;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      const limit = this.limit();
      // Refuse as soon as the partial value already exceeds the cap: no need to wait for byte 4.
      if (this.#length > limit) return { reason: 'packet-too-large', announced: this.#length, limit };
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return { reason: 'malformed-length' };
        continue;
      }
      this.#bodyLeft = this.#length;
      this.#inHeader = true;
    }
    return undefined;
  }
}
