import type { Logger } from 'pino';
import { formatPayloadError, type PayloadError } from '@poste/protocol';

/** Where a refused payload came from. */
export type RejectionSource =
  | 'deviceState'
  | 'deviceTelemetry'
  | 'deviceEvent'
  | 'deviceAck'
  | 'command'
  | 'configDesired';

/**
 * Counted, logged refusals of invalid input (DESIGN §4): one place so every trust boundary reports
 * the same way, with the path and the reason, and nothing ever throws past it.
 */
export class Rejections {
  readonly #counts: Record<RejectionSource, number> = {
    deviceState: 0,
    deviceTelemetry: 0,
    deviceEvent: 0,
    deviceAck: 0,
    command: 0,
    configDesired: 0,
  };
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  reject(source: RejectionSource, error: PayloadError, context: Record<string, string | number> = {}): void {
    this.#counts[source]++;
    this.#log.warn({ source, path: error.path, reason: error.reason, ...context }, `rejected ${source}: ${formatPayloadError(error)}`);
  }

  counts(): Record<RejectionSource, number> & { total: number } {
    const total = Object.values(this.#counts).reduce((a, b) => a + b, 0);
    return { ...this.#counts, total };
  }
}
