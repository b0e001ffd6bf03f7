/** Why a connection's byte stream was cut. */
export type FrameViolation =
  /** a packet announced a remaining length over the cap in force */
  | { reason: 'packet-too-large'; announced: number; limit: number }
  /** more bytes before authentication than the pre-auth allowance */
  | { reason: 'too-much-before-auth'; received: number; limit: number }
  /** a remaining length encoded in more than 4 bytes (MQTT 3.1.1 §2.2.3) */
  | { reason: 'malformed-length' }
  /** [MQTT-3.1.0-1] the first packet must be CONNECT; [MQTT-3.1.0-2] a second CONNECT is a violation; types 0 and 15 are reserved */
  | { reason: 'bad-packet-type'; type: number; first: boolean };

export interface FrameScannerOptions {
  /** the largest remaining length allowed now (read on each packet: it rises after auth) */
  limit: () => number;
  /**
   * Also refuse packet types MQTT 3.1.1 forbids where they stand (a first packet other than
   * CONNECT, a second CONNECT, reserved types 0 and 15). Aedes closes such connections silently;
   * refused here, they are counted.
   */
  checkPacketTypes?: boolean;
}

/**
 * Follows MQTT framing as bytes arrive, without keeping them: only the fixed header (and, with
 * checkPacketTypes, its packet type) and the remaining length (a variable-byte integer, 1–4 bytes)
 * are decoded, then the body is counted and skipped. So a packet announcing 250 MB is refused when
 * its 2nd–5th byte arrives, before an MQTT parser (mqtt-packet) would start buffering it. Shared by
 * the cloud broker and the agent's LAN endpoint.
 */
export class MqttFrameScanner {
  #inHeader = true;
  #lengthBytes = 0;
  #length = 0;
  #multiplier = 1;
  #bodyLeft = 0;
  #packets = 0;
  readonly #limit: () => number;
  readonly #checkTypes: boolean;

  constructor(options: FrameScannerOptions) {
    this.#limit = options.limit;
    this.#checkTypes = options.checkPacketTypes ?? false;
  }

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
        if (this.#checkTypes) {
          const type = byte >> 4;
          const first = this.#packets++ === 0;
          if (first ? type !== 1 : type === 1 || type === 0 || type === 15) return { reason: 'bad-packet-type', type, first };
        }
        this.#inHeader = false;
        this.#lengthBytes = 0;
        this.#length = 0;
        this.#multiplier = 1;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      const limit = this.#limit();
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
