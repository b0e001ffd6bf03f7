import type { FastifyInstance } from 'fastify';
import { BadRequestSchema, FleetQuerySchema, FleetSnapshotSchema, NotFoundSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';
import { parseQuery, sendNotFound } from './validate';

export const fleetRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/fleet',
  access: 'aggregate',
  summary: 'Gateways, luminaires and access points online/offline',
  description: 'Live, from the retained state topics. A device whose gateway is offline (last will) counts offline.',
  query: FleetQuerySchema,
  responses: {
    200: { description: 'fleet counts', schema: FleetSnapshotSchema },
    400: { description: 'invalid query', schema: BadRequestSchema },
    404: { description: 'unknown municipality', schema: NotFoundSchema },
  },
};

export function registerFleetRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(fleetRouteDoc.path, async (req, reply) => {
    const q = parseQuery(FleetQuerySchema, req.query, reply);
    if (!q) return reply;
    const municipality = q.municipality;
    if (municipality === undefined) return ctx.fleet.snapshot();
    if (!ctx.inventory.municipality(municipality)) return sendNotFound(reply, `unknown municipality ${municipality}`);
    return ctx.fleet.snapshot((gw) => ctx.inventory.gateways[gw] === municipality);
  });
}
