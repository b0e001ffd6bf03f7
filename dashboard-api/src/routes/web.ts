import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import type { RouteDoc } from '../openapi';
import { PAGE_HTML } from '../web/page-html';
import { PAGE_SCRIPT } from '../web/page-script';
import { PAGE_CSS } from '../web/page-style';

/** Same-origin scripts, styles and fetches only: the page cannot reach the outside network or run injected inline code. */
export const DASHBOARD_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const uplotDir = (() => {
  const main = createRequire(import.meta.url).resolve('uplot');
  return main.slice(0, main.lastIndexOf('/'));
})();
/** The page's files, read once (uPlot from the installed package: nothing is fetched from elsewhere). */
const ASSETS: Record<string, { type: string; body: string }> = {
  '/assets/app.js': { type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT },
  '/assets/app.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
  '/assets/uplot.min.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(`${uplotDir}/uPlot.iife.min.js`, 'utf8') },
  '/assets/uplot.min.css': { type: 'text/css; charset=utf-8', body: readFileSync(`${uplotDir}/uPlot.min.css`, 'utf8') },
};

export const webRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/',
    access: 'public',
    summary: "Operators' web page (pt-BR; logs in with a token, then reads the API)",
    responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
  },
  ...Object.entries(ASSETS).map(
    ([path, a]): RouteDoc => ({
      method: 'get',
      path,
      access: 'public',
      summary: 'the page’s script, stylesheet or chart library',
      responses: { 200: { description: 'file', contentType: a.type.split(';')[0]! } },
    }),
  ),
];

export function registerWebRoute(app: FastifyInstance): void {
  const secure = (reply: import('fastify').FastifyReply) =>
    reply
      .header('content-security-policy', DASHBOARD_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache');
  app.get('/', async (_req, reply) => secure(reply).type('text/html; charset=utf-8').send(PAGE_HTML));
  for (const [path, a] of Object.entries(ASSETS)) app.get(path, async (_req, reply) => secure(reply).type(a.type).send(a.body));
}
