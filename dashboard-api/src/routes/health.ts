import type { FastifyInstance } from 'fastify';
import { HealthSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';

const STORE_PROBE_TIMEOUT_MS = 2_000;

export const healthRouteDoc: RouteDoc = {
  method: 'get',
  path: '/healthz',
  access: 'public',
  summary: 'Is the telemetry store reachable and the fleet link connected?',
  responses: {
    200: { description: 'healthy', schema: HealthSchema },
    503: { description: 'store unreachable or fleet link down', schema: HealthSchema },
  },
};

/** A cheap real query (count over the last minute), bounded in time so a hung store reads as down. */
async function probeStore(ctx: RouteContext): Promise<{ reachable: boolean; error?: string }> {
  const now = ctx.clock.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ctx.store.countPoints('luminaire', now - 60_000, now),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PROBE_TIMEOUT_MS} ms`)), STORE_PROBE_TIMEOUT_MS);
      }),
    ]);
    return { reachable: true };
  } catch (err) {
    ctx.metrics.storeErrors.inc({ operation: 'countPoints' });
    return { reachable: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoute(app: FastifyInstance, ctx: RouteContext): void {
  // Concurrent health checks share one probe: a flood of /healthz costs one store query at a time.
  let probing: Promise<{ reachable: boolean; error?: string }> | undefined;
  app.get(healthRouteDoc.path, async (_req, reply) => {
    probing ??= probeStore(ctx).finally(() => {
      probing = undefined;
    });
    const store = await probing;
    const link = ctx.fleet.linkConnected();
    const fleetLink = link === null ? 'none' : link ? 'connected' : 'disconnected';
    const ok = store.reachable && fleetLink !== 'disconnected';
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      store: { kind: ctx.store.kind, ...store },
      fleetLink,
    });
  });
}
