import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DeviceIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import { BadRequestSchema, ConflictSchema, NotFoundSchema, PageQueryShape, pageOf, pageSchema } from '../api-schemas';
import { PlanError } from '../commands/plan';
import type { RouteContext } from '../context';
import { EnrolRequestSchema, HouseholdSchema } from '../households/household-schemas';
import type { RouteDoc } from '../openapi';
import { parseBody, parseQuery, sendConflict, sendNotFound } from './validate';

const HouseholdListQuerySchema = z
  .object({
    state: z.enum(['active', 'revoked']).optional(),
    municipality: MunicipalityIdSchema.optional(),
    ap: DeviceIdSchema.optional(),
    ...PageQueryShape,
  })
  .strict();
export const HouseholdParamsSchema = z.object({ id: z.string().regex(/^h-[a-f0-9]{12}$/, 'household id: h- and 12 hex digits') });

export const householdRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/v1/households',
    access: 'operator',
    summary: 'Enrol a household that cedes part of its Wi-Fi (its consent is required and recorded)',
    description:
      "The AP's public share follows at once: a new desired config for its gateway (an audited apPublicShare command), the ceded kbit/s inside the windows and 0 outside them.",
    body: EnrolRequestSchema,
    responses: {
      201: { description: 'enrolled', schema: HouseholdSchema },
      400: { description: 'invalid request (e.g. no consent)', schema: BadRequestSchema },
      404: { description: 'unknown access point', schema: NotFoundSchema },
      409: { description: 'the AP is ceded by another household', schema: ConflictSchema },
    },
  },
  {
    method: 'get',
    path: '/api/v1/households',
    access: 'viewer',
    summary: 'Households, newest first (names them: never public)',
    query: HouseholdListQuerySchema,
    responses: {
      200: { description: 'a page of households', schema: pageSchema(HouseholdSchema) },
      400: { description: 'bad filter', schema: BadRequestSchema },
    },
  },
  {
    method: 'get',
    path: '/api/v1/households/:id',
    access: 'viewer',
    summary: 'One household',
    params: HouseholdParamsSchema,
    responses: {
      200: { description: 'the household', schema: HouseholdSchema },
      404: { description: 'no such household', schema: NotFoundSchema },
    },
  },
  {
    method: 'post',
    path: '/api/v1/households/:id/revoke',
    access: 'operator',
    summary: 'Revoke at once: the AP’s public share goes to 0 (new desired config, applied at the agent’s next bandwidth tick)',
    params: HouseholdParamsSchema,
    responses: {
      200: { description: 'revoked', schema: HouseholdSchema },
      404: { description: 'no such household', schema: NotFoundSchema },
    },
  },
];

export function registerHouseholdRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/api/v1/households', async (req, reply) => {
    const body = parseBody(EnrolRequestSchema, req.body, reply);
    if (!body) return reply;
    try {
      const h = await ctx.households.enrol(body, req.principal!);
      req.log.info({ household: h.id, ap: h.ap, by: req.principal?.name }, 'household enrolled');
      return reply.code(201).send(h);
    } catch (err) {
      if (err instanceof PlanError) return err.status === 404 ? sendNotFound(reply, err.message) : sendConflict(reply, err.message);
      throw err;
    }
  });
  app.get('/api/v1/households', async (req, reply) => {
    const q = parseQuery(HouseholdListQuerySchema, req.query, reply);
    if (!q) return reply;
    const items = ctx.households
      .all()
      .filter(
        (h) =>
          (q.state === undefined || h.state === q.state) &&
          (q.municipality === undefined || h.municipality === q.municipality) &&
          (q.ap === undefined || h.ap === q.ap),
      );
    return pageOf(items, q);
  });
  app.get('/api/v1/households/:id', async (req, reply) => {
    const p = parseQuery(HouseholdParamsSchema, req.params, reply);
    if (!p) return reply;
    return ctx.households.get(p.id) ?? sendNotFound(reply, `no household ${p.id}`);
  });
  app.post('/api/v1/households/:id/revoke', async (req, reply) => {
    const p = parseQuery(HouseholdParamsSchema, req.params, reply);
    if (!p) return reply;
    const h = await ctx.households.revoke(p.id, req.principal!);
    if (!h) return sendNotFound(reply, `no household ${p.id}`);
    req.log.info({ household: h.id, ap: h.ap, by: req.principal?.name }, 'household revoked');
    return h;
  });
}
