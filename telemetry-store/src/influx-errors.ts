import { StoreWriteError } from './errors';

/**
 * Classifies an InfluxDB HTTP failure: 429 and 5xx (and no response at all: refused, reset,
 * timeout) are worth retrying; any other 4xx (bad line protocol, field type conflict, missing
 * database) will fail again, so it is dead-lettered instead.
 */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

export function toStoreWriteError(prefix: string, err: unknown, status: number | undefined): StoreWriteError {
  if (err instanceof StoreWriteError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreWriteError(`${prefix}: ${status ?? 'no response'} ${message}`, isRetryableStatus(status), 0, { cause: err });
}

/** HTTP status carried by an error from `influx` (RequestError.res) or the 2.x client (HttpError.statusCode). */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; res?: { statusCode?: unknown } };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.res?.statusCode === 'number') return e.res.statusCode;
  return undefined;
}
