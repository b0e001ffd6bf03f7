import { parseQueryLimits, QueryLimitsError, type QueryLimits, type QueryLimitsInput } from './query-limits';

/** Command-line flags of the query limits (poste-dashboard serve; poste-cloud and the city reuse them). */
export const QUERY_LIMIT_FLAGS = {
  'max-range-days': 'maxRangeDays',
  'max-series': 'maxSeries',
  'query-timeout-ms': 'timeoutMs',
  'max-concurrent-queries': 'maxConcurrent',
  'max-queued-queries': 'maxQueued',
  'read-share': 'readShare',
  'retry-after-s': 'retryAfterSeconds',
  'cache-ttl-ms': 'cacheTtlMs',
  'stale-ms': 'staleMs',
} as const satisfies Record<string, keyof QueryLimits>;

export type QueryLimitFlag = keyof typeof QUERY_LIMIT_FLAGS;

/** parseArgs option definitions for the flags. */
export const queryLimitArgOptions = Object.fromEntries(
  Object.keys(QUERY_LIMIT_FLAGS).map((f) => [f, { type: 'string' as const }]),
) as Record<QueryLimitFlag, { type: 'string' }>;

/** The usage lines of the flags, defaults included. */
export function queryLimitUsage(pad: number): string {
  const d = parseQueryLimits({});
  const lines: Array<[string, string]> = [
    ['--max-range-days N', `longest energy range one request may ask for (default ${d.maxRangeDays})`],
    ['--max-series N', `most luminaires one energy response aggregates (default ${d.maxSeries})`],
    ['--query-timeout-ms N', `per request time-out; past it 504 (default ${d.timeoutMs})`],
    ['--max-concurrent-queries N', `expensive store queries at once (default ${d.maxConcurrent})`],
    ['--max-queued-queries N', `requests waiting for one; beyond, 503 + Retry-After (default ${d.maxQueued})`],
    ['--read-share X', `share of time (0-1] one query slot may spend reading (default ${d.readShare})`],
    ['--retry-after-s N', `Retry-After of a 503, seconds (default ${d.retryAfterSeconds})`],
    ['--cache-ttl-ms N', `identical energy requests share a report this long; 0 = off (default ${d.cacheTtlMs})`],
    ['--stale-ms N', `then still answer it this long while one refresh runs; 0 = off (default ${d.staleMs})`],
  ];
  return lines.map(([flag, text]) => `  ${flag.padEnd(pad)}${text}`).join('\n');
}

/**
 * The limits given on the command line, validated; an error message names the flag and the reason.
 * Throws `makeError(message)` (the CLI's usage error).
 */
export function queryLimitsFromFlags(
  values: Record<string, string | boolean | undefined>,
  makeError: (message: string) => Error,
): QueryLimitsInput {
  const out: Record<string, number> = {};
  for (const [flag, field] of Object.entries(QUERY_LIMIT_FLAGS)) {
    const raw = values[flag];
    if (typeof raw !== 'string') continue;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw makeError(`--${flag} must be a number, got ${JSON.stringify(raw)}`);
    out[field] = n;
  }
  try {
    parseQueryLimits(out);
  } catch (err) {
    if (!(err instanceof QueryLimitsError)) throw err;
    // limits.maxSeries: … → --max-series: …
    let message = err.message;
    for (const [flag, field] of Object.entries(QUERY_LIMIT_FLAGS)) message = message.replaceAll(`limits.${field}`, `--${flag}`);
    throw makeError(message);
  }
  return out;
}
