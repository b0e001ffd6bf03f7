import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument, type RouteDoc } from '../openapi';

export const openApiRouteDoc: RouteDoc = {
  method: 'get',
  path: '/openapi.json',
  access: 'public',
  summary: 'This OpenAPI 3.1 document',
  responses: { 200: { description: 'OpenAPI 3.1 document', contentType: 'application/json' } },
};

/** The document is built once at registration from every route's doc (schemas are static); `routes` includes openApiRouteDoc. */
export function registerOpenApiRoute(app: FastifyInstance, routes: readonly RouteDoc[], version: string): void {
  const doc = buildOpenApiDocument(routes, {
    title: 'Poste dashboard API',
    version,
    description:
      'Fleet, energy and savings, faults, commands and coproduced Wi-Fi of municipal LED street lighting (see dashboard-api/README.md). Send `Authorization: Bearer TOKEN`; `x-poste-role` names the least role an operation needs (viewer < operator < technician < admin).',
  });
  app.get(openApiRouteDoc.path, async () => doc);
}
