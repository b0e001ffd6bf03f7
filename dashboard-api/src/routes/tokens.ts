import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BadRequestSchema, NotFoundSchema, PageQueryShape, pageOf, pageSchema } from '../api-schemas';
import { RoleSchema } from '../auth/roles';
import { TokenNameSchema } from '../auth/token-store';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';
import { parseBody, parseQuery, sendNotFound } from './validate';

export const TokenInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: RoleSchema,
  createdAt: z.number().int(),
  revokedAt: z.number().int().optional(),
});
const CreateTokenSchema = z.object({ name: TokenNameSchema, role: RoleSchema }).strict();
const TokenParamsSchema = z.object({ id: z.string().regex(/^[a-f0-9]{12}$/, 'token id: 12 hex digits') });
const TokenListQuerySchema = z.object(PageQueryShape).strict();
export const WhoAmISchema = z.object({
  tokenId: z.string(),
  name: z.string(),
  role: RoleSchema,
  now: z.number().int().describe("the server's clock, ms (simulated in the city): absolute times in requests are on it"),
});

export const tokenRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/whoami',
    access: 'viewer',
    summary: 'The token’s name and role (the page’s login check)',
    responses: { 200: { description: 'principal', schema: WhoAmISchema } },
  },
  {
    method: 'get',
    path: '/api/v1/tokens',
    access: 'admin',
    summary: 'Tokens (never their secrets or hashes)',
    query: TokenListQuerySchema,
    responses: {
      200: { description: 'tokens, oldest first', schema: pageSchema(TokenInfoSchema) },
      400: { description: 'bad query', schema: BadRequestSchema },
    },
  },
  {
    method: 'post',
    path: '/api/v1/tokens',
    access: 'admin',
    summary: 'Create a token; its secret is in this answer only',
    body: CreateTokenSchema,
    responses: {
      201: { description: 'created', schema: z.object({ token: z.string(), info: TokenInfoSchema }) },
      400: { description: 'bad name or role', schema: BadRequestSchema },
    },
  },
  {
    method: 'delete',
    path: '/api/v1/tokens/:id',
    access: 'admin',
    summary: 'Revoke a token (applies to the next request made with it)',
    params: TokenParamsSchema,
    responses: {
      200: { description: 'revoked', schema: TokenInfoSchema },
      404: { description: 'unknown token id', schema: NotFoundSchema },
    },
  },
];

export function registerTokenRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/whoami', async (req) => ({ ...req.principal, now: ctx.clock.now() }));
  app.get('/api/v1/tokens', async (req, reply) => {
    const q = parseQuery(TokenListQuerySchema, req.query, reply);
    if (!q) return reply;
    return pageOf(await ctx.tokens.list(), q);
  });
  app.post('/api/v1/tokens', async (req, reply) => {
    const body = parseBody(CreateTokenSchema, req.body, reply);
    if (!body) return reply;
    const created = await ctx.tokens.create(body);
    req.log.info({ by: req.principal?.name, token: created.info.id, role: body.role }, 'token created');
    return reply.code(201).send(created);
  });
  app.delete('/api/v1/tokens/:id', async (req, reply) => {
    const p = parseQuery(TokenParamsSchema, req.params, reply);
    if (!p) return reply;
    const revoked = await ctx.tokens.revoke(p.id);
    if (!revoked) return sendNotFound(reply, `no token ${p.id}`);
    req.log.info({ by: req.principal?.name, token: p.id }, 'token revoked');
    return revoked;
  });
}
