/**
 * Typed write failures (Telegraf style). Every backend's `write` throws only these:
 * - retryable (`retryable = true`): the store is down, full, overloaded, timed out or misconfigured
 *   (disk full, I/O error, connection refused/reset, 5xx, 429, auth, missing database). Nothing is
 *   wrong with the points: ingest retries, then spools them on its own disk.
 * - permanent (`retryable = false`): the store will never accept this batch as sent. Ingest splits
 *   the batch to find the message at fault.
 * - partial (`PartialWriteError`, permanent): the store wrote some points and refused others for
 *   good; it says exactly how many were written and which (indices) or how many were refused.
 */
export class StoreWriteError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** points the store did accept before failing (a PartialWriteError's `written`), else 0 */
    readonly acceptedPoints = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreWriteError';
  }
}

/**
 * Part of a batch was written, the rest refused for good (a field type conflict, a value the store
 * cannot hold). `written + refused` is the batch size. `refusedIndices` (into the batch as given to
 * write()) when the backend can tell which points were refused; InfluxDB only reports a count.
 */
export class PartialWriteError extends StoreWriteError {
  readonly written: number;
  readonly refused: number;
  readonly refusedIndices: readonly number[] | undefined;

  constructor(
    message: string,
    outcome: { written: number; refused: number; refusedIndices?: readonly number[] },
    options?: { cause?: unknown },
  ) {
    super(message, false, outcome.written, options);
    this.name = 'PartialWriteError';
    this.written = outcome.written;
    this.refused = outcome.refused;
    this.refusedIndices = outcome.refusedIndices;
  }
}

/** One refused point of a batch, with why (for PartialWriteError messages and dead letters). */
export interface RefusedPoint {
  index: number;
  reason: string;
}

/**
 * Builds the error for a batch some of whose points a backend refused before writing the rest
 * (embedded, memory): a PartialWriteError with the indices and the first few reasons.
 */
export function refusedPointsError(backend: string, total: number, refused: readonly RefusedPoint[]): PartialWriteError {
  const shown = refused
    .slice(0, 3)
    .map((r) => `#${r.index}: ${r.reason}`)
    .join('; ');
  const more = refused.length > 3 ? `; and ${refused.length - 3} more` : '';
  return new PartialWriteError(`${backend}: ${refused.length} of ${total} points refused (${shown}${more})`, {
    written: total - refused.length,
    refused: refused.length,
    refusedIndices: refused.map((r) => r.index),
  });
}

/** True when `err` is a StoreWriteError worth retrying; anything else (a bug included) is answered by the caller. */
export function isRetryableWriteError(err: unknown): boolean {
  return err instanceof StoreWriteError && err.retryable;
}

/**
 * A `--store` spec that cannot be turned into a config. Backends throw it with the reason only;
 * the registry rethrows it naming the whole spec and the syntax expected.
 */
export class StoreSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreSpecError';
  }
}
