import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BadRequestSchema, ConflictSchema, NotFoundSchema, PageQueryShape, pageOf, pageSchema } from '../api-schemas';
import { roleAtLeast } from '../auth/roles';
import { CommandRecordSchema, CommandRequestSchema, CommandStateSchema } from '../commands/command-schemas';
import { PlanError } from '../commands/plan';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';
import { parseBody, parseQuery, sendConflict, sendNotFound } from './validate';

const CommandListQuerySchema = z
  .object({
    state: CommandStateSchema.optional(),
    kind: z.enum(['override', 'clearOverride', 'assignCalendar', 'apPublicShare']).optional(),
    requestedBy: z.string().min(1).max(64).optional(),
    ...PageQueryShape,
  })
  .strict();
const CommandParamsSchema = z.object({ id: z.string().regex(/^c-[a-f0-9]{12}$/, 'command id: c- and 12 hex digits') });

export const commandRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/v1/commands',
    access: 'operator',
    summary:
      "Issue a command: override (level, start, expiry), clear an override; assign a calendar or program, set an AP's public share (technician)",
    description:
      'Answers 202 with the audit record at once; its outcome follows on the stream (`command` events) and at GET /api/v1/commands/{id}: each part is one message to one gateway, answered by its ack (overrides) or its reported config (assignments). A part with no answer within 30 s is `timeout`.',
    body: CommandRequestSchema,
    responses: {
      202: { description: 'accepted: sent, or scheduled for its start', schema: CommandRecordSchema },
      400: { description: 'invalid request', schema: BadRequestSchema },
      404: { description: 'unknown luminaire, group or municipality', schema: NotFoundSchema },
      409: { description: 'unknown calendar or program in the gateways’ configuration', schema: ConflictSchema },
    },
  },
  {
    method: 'get',
    path: '/api/v1/commands',
    access: 'viewer',
    summary: 'The command audit: who, what, when, outcome; newest first',
    query: CommandListQuerySchema,
    responses: {
      200: { description: 'a page of commands', schema: pageSchema(CommandRecordSchema) },
      400: { description: 'bad filter', schema: BadRequestSchema },
    },
  },
  {
    method: 'get',
    path: '/api/v1/commands/:id',
    access: 'viewer',
    summary: 'One command with its parts',
    params: CommandParamsSchema,
    responses: {
      200: { description: 'the command', schema: CommandRecordSchema },
      404: { description: 'no such command', schema: NotFoundSchema },
    },
  },
  {
    method: 'delete',
    path: '/api/v1/commands/:id',
    access: 'operator',
    summary: 'Cancel a command still waiting for its start',
    params: CommandParamsSchema,
    responses: {
      200: { description: 'cancelled', schema: CommandRecordSchema },
      404: { description: 'no such command', schema: NotFoundSchema },
      409: { description: 'already sent', schema: ConflictSchema },
    },
  },
];

export function registerCommandRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/api/v1/commands', async (req, reply) => {
    const body = parseBody(CommandRequestSchema, req.body, reply);
    if (!body) return reply;
    const who = req.principal!;
    // What devices run (calendars, programs) is a technician's call.
    if (body.kind === 'assignCalendar' && !roleAtLeast(who.role, 'technician')) {
      return reply
        .code(403)
        .send({ error: 'forbidden', message: `assignCalendar needs role technician or above; token "${who.name}" has ${who.role}` });
    }
    if (body.kind === 'override') {
      const start = body.start ?? ctx.clock.now();
      if (body.expiry <= Math.max(start, ctx.clock.now())) {
        return reply
          .code(400)
          .send({ error: 'bad_request', issues: [{ path: 'body.expiry', reason: 'must be after start and after now' }] });
      }
    }
    try {
      const rec = await ctx.commands.submit(body, who);
      req.log.info({ command: rec.id, kind: rec.kind, by: who.name }, 'command issued');
      return reply.code(202).send(rec);
    } catch (err) {
      if (err instanceof PlanError) {
        return err.status === 404 ? sendNotFound(reply, err.message) : sendConflict(reply, err.message);
      }
      throw err;
    }
  });
  app.get('/api/v1/commands', async (req, reply) => {
    const q = parseQuery(CommandListQuerySchema, req.query, reply);
    if (!q) return reply;
    const items = ctx.commandBook
      .all()
      .filter(
        (r) =>
          (q.state === undefined || r.state === q.state) &&
          (q.kind === undefined || r.kind === q.kind) &&
          (q.requestedBy === undefined || r.requestedBy === q.requestedBy),
      );
    return pageOf(items, q);
  });
  app.get('/api/v1/commands/:id', async (req, reply) => {
    const p = parseQuery(CommandParamsSchema, req.params, reply);
    if (!p) return reply;
    return ctx.commandBook.get(p.id) ?? sendNotFound(reply, `no command ${p.id}`);
  });
  app.delete('/api/v1/commands/:id', async (req, reply) => {
    const p = parseQuery(CommandParamsSchema, req.params, reply);
    if (!p) return reply;
    const rec = ctx.commandBook.get(p.id);
    if (!rec) return sendNotFound(reply, `no command ${p.id}`);
    const cancelled = ctx.commands.cancel(p.id, req.principal!);
    return cancelled ?? sendConflict(reply, `command ${p.id} is ${rec.state}: only a scheduled one can be cancelled`);
  });
}
