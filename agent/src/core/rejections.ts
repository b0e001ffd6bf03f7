import type { Logger } from 'pino';
import { formatPayloadError, type PayloadError } from '@poste/protocol';

/** Where a refused payload came from. */
export type RejectionSource = 'deviceState' | 'deviceTelemetry' | 'deviceEvent' | 'deviceAck' | 'command' | 'configDesired';

/**
 * Counted, logged refusals of invalid input (docs/architecture.md, Validation): one place so every
 * trust boundary reports the same way, with the path and the reason, and nothing ever throws past it.
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
  /** Refusals of what each adapter instance handed in, so a misbehaving LAN segment stands out. */
  readonly #byAdapter = new Map<string, number>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Counts and logs one refusal; `context.adapter` (an adapter instance name) also counts it under that adapter. */
  reject(source: RejectionSource, error: PayloadError, context: { device?: string; adapter?: string } = {}): void {
    this.#counts[source]++;
    if (context.adapter !== undefined) this.#byAdapter.set(context.adapter, (this.#byAdapter.get(context.adapter) ?? 0) + 1);
    this.#log.warn({ source, path: error.path, reason: error.reason, ...context }, `rejected ${source}: ${formatPayloadError(error)}`);
  }

  forAdapter(name: string): number {
    return this.#byAdapter.get(name) ?? 0;
  }

  counts(): Record<RejectionSource, number> & { total: number } {
    const total = Object.values(this.#counts).reduce((a, b) => a + b, 0);
    return { ...this.#counts, total };
  }
}
