// A packet-size cap enforced while bytes arrive, before Aedes' parser (mqtt-packet) buffers a
// packet whole: a device announcing a 50 MB PUBLISH is cut off at the 2nd–5th byte of its header.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export type FrameViolation =
  | { reason: 'packet-too-large'; announced: number; limit: number }
  | { reason: 'malformed-length' }
  /** [MQTT-3.1.0-1] the first packet must be CONNECT; [MQTT-3.1.0-2] a second CONNECT is a violation; types 0 and 15 are reserved. */
  | { reason: 'bad-packet-type'; type: number; first: boolean };

/**
 * Follows MQTT framing (§2.2.3) without keeping bytes: checks each packet's type, decodes its
 * remaining length and skips the body. `limit()` is read per packet (small before CONNECT is accepted).
 */
export class MqttFrameScanner {
  #inHeader = true;
  #lengthBytes = 0;
  #length = 0;
  #multiplier = 1;
  #bodyLeft = 0;
  #packets = 0;

  constructor(private readonly limit: () => number) {}

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
        // Aedes closes such a connection silently; refused here, it is counted. (MQTT 3.1.1 has no type 15: AUTH is MQTT 5.)
        const type = byte >> 4;
        const first = this.#packets++ === 0;
        if (first ? type !== 1 : type === 1 || type === 0 || type === 15) return { reason: 'bad-packet-type', type, first };
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

/**
 * What Aedes reads from and writes to instead of the socket: every chunk passes the scanner first
 * and the connection is destroyed on a violation. Back-pressure is kept both ways (the socket
 * pauses while Aedes does not read; writes wait for the socket's drain).
 */
export class GuardedConnection extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  #authenticated = false;

  constructor(
    readonly socket: Socket,
    limits: { preAuthBytes: number; maxPacketBytes: number },
    onViolation: (v: FrameViolation) => void,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    const scanner = new MqttFrameScanner(() => (this.#authenticated ? limits.maxPacketBytes : limits.preAuthBytes));
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const v = scanner.feed(chunk);
      if (v) {
        onViolation(v);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** CONNECT accepted: packets up to the full cap from now on. */
  authenticated(): void {
    this.#authenticated = true;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) done();
    else this.socket.once('drain', () => done());
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.socket.cork();
    let ok = true;
    for (const { chunk } of chunks) ok = this.socket.write(chunk);
    this.socket.uncork();
    if (ok) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
