import type { FastifyInstance } from 'fastify';
import type { RouteDoc } from '../openapi';
import { DASHBOARD_PAGE_CSP, DASHBOARD_PAGE_HTML } from '../web-page';

export const webRouteDoc: RouteDoc = {
  method: 'get',
  path: '/',
  access: 'public',
  summary: "Operators' web page (self-contained HTML, polls the API)",
  responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
};

export function registerWebRoute(app: FastifyInstance): void {
  app.get(webRouteDoc.path, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DASHBOARD_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(DASHBOARD_PAGE_HTML),
  );
}
