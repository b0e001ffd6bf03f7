/**
 * Typed write failure (Telegraf style): retryable ones (the store is down, overloaded, timed out)
 * go to retry/spool; others (a point the store will never accept) are dead-lettered.
 */
export class StoreWriteError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** points the store did accept before failing, when it can tell (partial write) */
    readonly acceptedPoints = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreWriteError';
  }
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
