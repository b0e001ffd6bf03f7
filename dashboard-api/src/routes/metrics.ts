import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';

export const metricsRouteDoc: RouteDoc = {
  method: 'get',
  path: '/metrics',
  access: 'aggregate',
  summary: 'Prometheus metrics (text exposition format)',
  responses: { 200: { description: 'metrics', contentType: 'text/plain; version=0.0.4' } },
};

export function registerMetricsRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(metricsRouteDoc.path, async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(body);
  });
}
