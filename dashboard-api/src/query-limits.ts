import { z } from 'zod';

/**
 * Bounds on what one client can make the store do (docs: dashboard-api/README.md, "Query limits").
 * Expensive reads share the store with ingest; in poste-cloud and the city they share the process
 * too, so every bound here is a bound on how much a flood of reads can take from ingest.
 */
export const QueryLimitsSchema = z
  .object({
    maxRangeDays: z
      .number()
      .positive()
      .max(36_600)
      .default(400)
      .describe('longest [from, to) one energy request may ask for, in days (400 → a year plus margin)'),
    maxSeries: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe('most luminaires one energy response may aggregate; beyond, 400 asking to narrow by municipality or gateway'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe(
        'per request: waiting for a slot plus the store query; past it the request is answered 504 (a queued one 503) and a late result is dropped',
      ),
    maxConcurrent: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe(
        'expensive store queries running at once, over all clients (the embedded store runs every statement on one connection, so a second one would only wait there, in front of the writes)',
      ),
    maxQueued: z.number().int().min(0).default(16).describe('requests waiting for a slot; beyond, 503 with Retry-After at once'),
    readShare: z
      .number()
      .positive()
      .max(1)
      .default(0.25)
      .describe(
        'share of wall-clock time each slot may spend in store queries: after a query of d ms its slot rests d × (1 − share) / share ms (at most timeoutMs), so expensive reads take at most this share of the store; 1 = no rest',
      ),
    retryAfterSeconds: z.number().int().positive().default(5).describe('the Retry-After of a 503 (busy or store unavailable)'),
    cacheTtlMs: z
      .number()
      .int()
      .min(0)
      .default(1_000)
      .describe(
        'an identical energy request within this many ms gets the same report (0: no cache); identical requests in flight always share one store query',
      ),
    staleMs: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'after cacheTtlMs, a report is still answered for this many ms more while one refresh runs in the background (stale-while-revalidate), so polling dashboards never queue behind the query renewing it; 0 = never serve an expired report',
      ),
    cacheEntries: z.number().int().positive().default(64).describe('distinct energy reports kept for cacheTtlMs + staleMs'),
  })
  .strict();

export type QueryLimits = z.output<typeof QueryLimitsSchema>;
export type QueryLimitsInput = z.input<typeof QueryLimitsSchema>;

export const DEFAULT_QUERY_LIMITS: QueryLimits = QueryLimitsSchema.parse({});

/** Thrown by createDashboardApi for an invalid `limits` option: names each field and why. */
export class QueryLimitsError extends Error {}

export function parseQueryLimits(input: unknown): QueryLimits {
  const r = QueryLimitsSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) =>
    i.code === 'unrecognized_keys' ? `limits: unknown option ${i.keys.join(', ')}` : `limits.${i.path.map(String).join('.')}: ${i.message}`,
  );
  throw new QueryLimitsError(issues.join('; '));
}
