import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DeviceIdSchema, GatewayIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import { BadRequestSchema, ConflictSchema, NotFoundSchema, PageQueryShape, pageOf, pageSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import { FAULT_TYPES, FaultSchema, FaultTypeSchema, type Fault } from '../faults/fault-book';
import type { RouteDoc } from '../openapi';
import { parseBody, parseQuery, sendConflict, sendNotFound } from './validate';

const FaultListQuerySchema = z
  .object({
    state: z.enum(['open', 'acknowledged', 'cleared', 'active']).optional().describe("'active' = open or acknowledged; default all"),
    type: FaultTypeSchema.optional(),
    municipality: MunicipalityIdSchema.optional(),
    gateway: GatewayIdSchema.optional(),
    device: DeviceIdSchema.optional(),
    assignee: z.string().min(1).max(100).optional(),
    ...PageQueryShape,
  })
  .strict();
const FaultParamsSchema = z.object({ id: z.string().regex(/^f-[a-f0-9]{12}$/, 'fault id: f- and 12 hex digits') });
const AssignBodySchema = z.object({ assignee: z.string().trim().min(1).max(100).describe('who repairs it (name or team)') }).strict();
const ClearBodySchema = z.object({ note: z.string().max(500).optional() }).strict();
const CountsSchema = z.object({ open: z.number().int(), acknowledged: z.number().int(), cleared: z.number().int() });
export const FaultCountsSchema = z.object({
  total: CountsSchema,
  byMunicipality: z.array(
    CountsSchema.extend({ municipality: z.string(), byType: z.record(z.string(), z.number().int()).describe('active faults per type') }),
  ),
});

const notFound = { description: 'no such fault', schema: NotFoundSchema };
const conflict = { description: 'the fault is cleared already', schema: ConflictSchema };
export const faultRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/faults',
    access: 'viewer',
    summary: 'Faults, newest first, with filters',
    query: FaultListQuerySchema,
    responses: {
      200: { description: 'a page of faults', schema: pageSchema(FaultSchema) },
      400: { description: 'bad filter', schema: BadRequestSchema },
    },
  },
  {
    method: 'get',
    path: '/api/v1/faults/counts',
    access: 'viewer',
    summary: 'Fault counts by state, per municipality (active ones per type)',
    responses: { 200: { description: 'counts', schema: FaultCountsSchema } },
  },
  {
    method: 'post',
    path: '/api/v1/faults/:id/acknowledge',
    access: 'operator',
    summary: 'Acknowledge a fault (someone is on it)',
    params: FaultParamsSchema,
    responses: { 200: { description: 'the fault', schema: FaultSchema }, 404: notFound, 409: conflict },
  },
  {
    method: 'post',
    path: '/api/v1/faults/:id/assign',
    access: 'operator',
    summary: 'Assign a fault for repair (acknowledges it too)',
    params: FaultParamsSchema,
    body: AssignBodySchema,
    responses: {
      200: { description: 'the fault', schema: FaultSchema },
      400: { description: 'bad body', schema: BadRequestSchema },
      404: notFound,
      409: conflict,
    },
  },
  {
    method: 'post',
    path: '/api/v1/faults/:id/clear',
    access: 'operator',
    summary: 'Clear a fault by hand (repaired); a device that still reports it raises a new one',
    params: FaultParamsSchema,
    body: ClearBodySchema,
    responses: { 200: { description: 'the fault', schema: FaultSchema }, 404: notFound, 409: conflict },
  },
];

function matches(f: Fault, q: z.infer<typeof FaultListQuerySchema>): boolean {
  if (q.state === 'active' ? f.state === 'cleared' : q.state !== undefined && f.state !== q.state) return false;
  if (q.type !== undefined && f.type !== q.type) return false;
  if (q.municipality !== undefined && f.municipality !== q.municipality) return false;
  if (q.gateway !== undefined && f.gateway !== q.gateway) return false;
  if (q.device !== undefined && f.device !== q.device) return false;
  return q.assignee === undefined || f.assignee === q.assignee;
}

export function registerFaultRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/faults', async (req, reply) => {
    const q = parseQuery(FaultListQuerySchema, req.query, reply);
    if (!q) return reply;
    return pageOf(
      ctx.faults.all().filter((f) => matches(f, q)),
      q,
    );
  });
  app.get('/api/v1/faults/counts', async () => {
    const total = { open: 0, acknowledged: 0, cleared: 0 };
    const by = new Map<string, z.infer<typeof FaultCountsSchema>['byMunicipality'][number]>();
    for (const f of ctx.faults.all()) {
      total[f.state] += 1;
      let m = by.get(f.municipality);
      if (!m) {
        m = { municipality: f.municipality, open: 0, acknowledged: 0, cleared: 0, byType: {} };
        by.set(f.municipality, m);
      }
      m[f.state] += 1;
      if (f.state !== 'cleared') m.byType[f.type] = (m.byType[f.type] ?? 0) + 1;
    }
    return { total, byMunicipality: [...by.values()].sort((a, b) => (a.municipality < b.municipality ? -1 : 1)) };
  });
  const act = (
    path: string,
    body: z.ZodType | undefined,
    apply: (id: string, by: string, now: number, body: unknown) => Fault | undefined,
  ) =>
    app.post(path, async (req: FastifyRequest, reply: FastifyReply) => {
      const p = parseQuery(FaultParamsSchema, req.params, reply);
      if (!p) return reply;
      const b = body ? parseBody(body, req.body, reply) : undefined;
      if (body && b === undefined) return reply;
      const existing = ctx.faults.get(p.id);
      if (!existing) return sendNotFound(reply, `no fault ${p.id}`);
      if (existing.state === 'cleared')
        return sendConflict(reply, `fault ${p.id} was cleared at ${new Date(existing.clearedAt ?? 0).toISOString()}`);
      const f = apply(p.id, req.principal?.name ?? 'anonymous', ctx.clock.now(), b)!;
      ctx.hub.publish('fault', f);
      req.log.info({ fault: f.id, by: req.principal?.name, state: f.state }, `fault ${path.split('/').pop()}`);
      return f;
    });
  act('/api/v1/faults/:id/acknowledge', undefined, (id, by, now) => ctx.faults.acknowledge(id, by, now));
  act('/api/v1/faults/:id/assign', AssignBodySchema, (id, by, now, b) =>
    ctx.faults.assign(id, (b as { assignee: string }).assignee, by, now),
  );
  act('/api/v1/faults/:id/clear', ClearBodySchema, (id, by, now) => ctx.faults.clear(id, by, now));
}

export { FAULT_TYPES };
