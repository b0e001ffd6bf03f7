import { PartialWriteError, StoreWriteError } from './errors';

/** Error codes of a request that got no answer: the server is down, unreachable or too slow. */
const NO_RESPONSE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Classifies an InfluxDB HTTP status:
 * - no response, 408, 429 and 5xx: the server is down, slow or overloaded → retryable;
 * - 401, 403, 404: a token or a database the operator has to fix; the points are fine, so they are
 *   kept (retryable) rather than dropped, and drain once the configuration is right;
 * - any other 4xx (bad line protocol, field type conflict, 413 too large): this batch as sent will
 *   fail again → permanent (a 400 that names a partial write is handled by toStoreWriteError).
 */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500 || status === 401 || status === 403 || status === 404;
}

/**
 * The typed error for a failed InfluxDB write of `sent` points. A 400/422 whose body says
 * `partial write: … dropped=N` becomes a PartialWriteError (written = sent − N, refused N; InfluxDB
 * does not say which points, so no indices); errors without a status (refused, reset, timed out,
 * socket hang up) are retryable.
 */
export function toStoreWriteError(prefix: string, err: unknown, status: number | undefined, sent: number): StoreWriteError {
  if (err instanceof StoreWriteError) return err;
  const text = errorText(err);
  const oneLine = text.replace(/\s+/g, ' ').trim().slice(0, 500);
  if (status === 400 || status === 422) {
    const dropped = droppedCount(text);
    if (dropped !== undefined && dropped <= sent) {
      return new PartialWriteError(
        `${prefix}: partial write, ${dropped} of ${sent} points refused: ${oneLine}`,
        { written: sent - dropped, refused: dropped },
        { cause: err },
      );
    }
  }
  const code = codeOf(err);
  const retryable = isRetryableStatus(status) || (code !== undefined && NO_RESPONSE_CODES.has(code));
  const what = status ?? (code ? `no response (${code})` : 'no response');
  return new StoreWriteError(`${prefix}: ${what} ${oneLine}`, retryable, 0, { cause: err });
}

/** `dropped=N` of an InfluxDB partial-write message (1.x `{"error":…}`, 2.x `{"message":…}`). */
export function droppedCount(text: string): number | undefined {
  if (!/partial write/i.test(text)) return undefined;
  const m = /dropped=(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** HTTP status carried by an error from `influx` (RequestError.res) or the 2.x client (HttpError.statusCode). */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; res?: { statusCode?: unknown } };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.res?.statusCode === 'number') return e.res.statusCode;
  return undefined;
}

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

/** The message and, when the client keeps it apart (2.x HttpError), the response body. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const body = (err as { body?: unknown }).body;
  return typeof body === 'string' && !err.message.includes(body) ? `${err.message} ${body}` : err.message;
}
