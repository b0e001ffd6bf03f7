import { StoreWriteError } from './errors';

export interface BackoffOptions {
  /** attempts in total, the first included */
  attempts: number;
  /** delay before the 2nd attempt, ms; doubles each time up to maxDelayMs */
  initialDelayMs: number;
  maxDelayMs: number;
  /** fraction of random extra delay (0..1), so writers that failed together do not retry together */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { attempts: 5, initialDelayMs: 200, maxDelayMs: 10_000, jitter: 0.2 };

export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return base * (1 + o.jitter * Math.random());
}

/**
 * Runs `fn`, retrying with exponential backoff and jitter while it throws a retryable
 * StoreWriteError; any other error, or the last retryable one, is rethrown.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: Partial<BackoffOptions> = {},
  onRetry?: (err: StoreWriteError, attempt: number, delayMs: number) => void,
): Promise<T> {
  const o = { ...DEFAULT_BACKOFF, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof StoreWriteError) || !err.retryable || attempt >= o.attempts) throw err;
      const delay = backoffDelay(attempt, o);
      onRetry?.(err, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
