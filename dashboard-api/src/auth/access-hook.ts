import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDoc } from '../openapi';
import { roleAtLeast, type Access } from './roles';
import type { Principal, TokenStore } from './token-store';

declare module 'fastify' {
  interface FastifyRequest {
    /** who made the request (undefined: no token, on a public or aggregate route) */
    principal?: Principal;
  }
}

export interface AccessPolicy {
  tokens: TokenStore;
  /** aggregate energy and fleet figures without a token (never anything naming a household or changing state) */
  publicReads: boolean;
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]{8,200})\s*$/i;

function deny(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="poste"');
  return reply.code(status).send({ error: status === 401 ? 'unauthorized' : 'forbidden', message });
}

/**
 * Enforces each route's `access` (from its RouteDoc, the same source as /openapi.json) before the
 * handler runs. A route without a doc needs admin: a forgotten doc fails closed.
 */
export function registerAccessHook(app: FastifyInstance, docs: readonly RouteDoc[], policy: AccessPolicy): void {
  const accessOf = new Map<string, Access>(docs.map((d) => [`${d.method.toUpperCase()} ${d.path}`, d.access]));
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.routeOptions.url;
    if (url === undefined) return; // no route: the 404 handler answers
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const access = accessOf.get(`${method} ${url}`) ?? 'admin';
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = BEARER.exec(header);
      if (!m) return deny(reply, 401, 'Authorization must be "Bearer TOKEN"');
      const principal = await policy.tokens.verify(m[1]!);
      if (!principal) return deny(reply, 401, 'unknown or revoked token');
      req.principal = principal;
    }
    if (access === 'public') return;
    if (access === 'aggregate' && policy.publicReads) return;
    if (!req.principal) return deny(reply, 401, `${method} ${url} needs a token (Authorization: Bearer TOKEN)`);
    const needed = access === 'aggregate' ? 'viewer' : access;
    if (!roleAtLeast(req.principal.role, needed)) {
      return deny(reply, 403, `${method} ${url} needs role ${needed} or above; token "${req.principal.name}" has ${req.principal.role}`);
    }
  });
}
