import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { MqttFrameScanner, type FrameViolation } from './frame-scanner';

export interface FrameLimits {
  /** largest remaining length of one packet accepted before authentication */
  preAuthBytes: number;
  /** largest remaining length of one packet after authentication */
  maxPacketBytes: number;
  /** with it, preAuthBytes also caps the total bytes received before authentication */
  preAuthTotal?: boolean;
  /** with it, the connection is closed if it is not authenticated this long after it was accepted */
  connectDeadlineMs?: number;
  /** refuse packet types out of place (see MqttFrameScanner) */
  checkPacketTypes?: boolean;
}

export type GuardViolation = FrameViolation | { reason: 'connect-deadline'; ms: number };

/**
 * What Aedes reads from and writes to instead of the raw socket (TCP or TLS): every chunk passes
 * MqttFrameScanner first, and the connection is destroyed on a violation, before the bytes reach
 * the MQTT parser. Until `authenticated()` only small packets are allowed (and, if configured, few
 * bytes in all and a deadline runs); after, the configured packet cap. Back-pressure is kept both
 * ways: the socket pauses while Aedes does not read, and writes wait for the socket's drain.
 */
export class GuardedConnection extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  #authenticated = false;
  #receivedBeforeAuth = 0;
  #deadline: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    readonly limits: FrameLimits,
    private readonly onViolation: (v: GuardViolation) => void,
  ) {
    // Aedes treats the end of the readable side as the end of the connection.
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    const scanner = new MqttFrameScanner({
      limit: () => (this.#authenticated ? limits.maxPacketBytes : limits.preAuthBytes),
      checkPacketTypes: limits.checkPacketTypes ?? false,
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      if (!this.#authenticated && limits.preAuthTotal) {
        this.#receivedBeforeAuth += chunk.length;
        if (this.#receivedBeforeAuth > limits.preAuthBytes) {
          return this.#violate({ reason: 'too-much-before-auth', received: this.#receivedBeforeAuth, limit: limits.preAuthBytes });
        }
      }
      const v = scanner.feed(chunk);
      if (v) return this.#violate(v);
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    if (limits.connectDeadlineMs !== undefined) {
      const ms = limits.connectDeadlineMs;
      this.#deadline = setTimeout(() => this.#violate({ reason: 'connect-deadline', ms }), ms);
      this.#deadline.unref();
    }
  }

  get authenticatedYet(): boolean {
    return this.#authenticated;
  }

  /** CONNECT accepted: packets up to the full cap from now on, and no deadline. */
  authenticated(): void {
    this.#authenticated = true;
    clearTimeout(this.#deadline);
  }

  #violate(v: GuardViolation): void {
    if (this.destroyed) return;
    this.onViolation(v);
    this.destroy();
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
    clearTimeout(this.#deadline);
    this.socket.destroy();
    done(err);
  }
}
