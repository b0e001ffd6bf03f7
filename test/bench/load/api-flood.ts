// A child process that floods the dashboard API the way careless clients do: N clients, each
// asking for a long energy range again the moment it has an answer, ignoring Retry-After. Runs
// apart from the server so the flood's own work does not share its thread. Stops by itself after
// durationMs. Input: one JSON argument (FloodSpec); output: one JSON line (FloodResult) on stdout.

export interface FloodSpec {
  /** dashboard base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  clients: number;
  durationMs: number;
  /** days before now each request starts at (to = now, computed per request, so no two are alike) */
  rangeDays: number;
  /** when set, every request asks for exactly this query string instead (identical requests) */
  fixedQuery?: string;
  /**
   * when set, the clients ask for these paths (with their query strings) in turn instead of
   * /api/v1/energy, and the result has each path's percentiles (which request is slow)
   */
  paths?: string[];
}

export interface PathLatency {
  requests: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FloodResult {
  requests: number;
  /** responses by HTTP status; 'error' for a request that failed without one */
  byStatus: Record<string, number>;
  /** 503 responses that carried a Retry-After header */
  retryAfter: number;
  /** the first request that failed without a status, why */
  firstError?: string;
  /** response time percentiles of 200s, ms */
  okP50: number;
  okP99: number;
  /** with spec.paths: percentiles of each path's 200s, ms */
  byPath?: Record<string, PathLatency>;
}

const DAY_MS = 86_400_000;

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export async function flood(spec: FloodSpec): Promise<FloodResult> {
  const end = performance.now() + spec.durationMs;
  const byStatus: Record<string, number> = {};
  const okMs: number[] = [];
  let requests = 0;
  let retryAfter = 0;
  let firstError: string | undefined;
  const paths = spec.paths ?? [];
  const pathMs = new Map<string, number[]>(paths.map((p) => [p, []]));
  let turn = 0;
  const client = async () => {
    while (performance.now() < end) {
      const now = Date.now();
      const path = paths.length > 0 ? paths[turn++ % paths.length]! : undefined;
      const target = path ?? `/api/v1/energy?${spec.fixedQuery ?? `from=${now - spec.rangeDays * DAY_MS}&to=${now}`}`;
      const t0 = performance.now();
      requests++;
      try {
        const res = await fetch(`${spec.url}${target}`, {
          signal: AbortSignal.timeout(Math.ceil(Math.max(1, end - performance.now())) + 30_000),
        });
        await res.arrayBuffer();
        byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
        if (res.status === 200) {
          const ms = performance.now() - t0;
          okMs.push(ms);
          if (path !== undefined) pathMs.get(path)?.push(ms);
        }
        if (res.status === 503 && res.headers.get('retry-after') !== null) retryAfter++;
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        firstError ??= `${(err as Error).message}${cause ? `: ${cause.code ?? cause.message}` : ''}`;
        byStatus.error = (byStatus.error ?? 0) + 1;
        // A refused connection must not spin: pause a little, as a real client's socket error would.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.clients }, client));
  return {
    requests,
    byStatus,
    retryAfter,
    ...(firstError !== undefined ? { firstError } : {}),
    okP50: pct(okMs, 50),
    okP99: pct(okMs, 99),
    ...(paths.length > 0
      ? {
          byPath: Object.fromEntries(
            [...pathMs].map(([p, xs]) => [p, { requests: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) }]),
          ),
        }
      : {}),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  flood(JSON.parse(process.argv[2] ?? '') as FloodSpec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`api-flood: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
