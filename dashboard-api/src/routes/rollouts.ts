// Staged firmware rollouts over HTTP: start one (technician), read every rollout with each
// target's outcome (viewer), pause, resume or abort one (technician). The rollouts themselves run
// in the cloud (cloud/src/rollouts), which hands a RolloutService in; without one (the dashboard
// served alone, away from the broker) these routes answer 503.
import {
  type RolloutAction,
  RolloutActionSchema,
  RolloutIdSchema,
  RolloutRequestSchema,
  type RolloutView,
  RolloutViewSchema,
} from '@poste/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { BadRequestSchema, ConflictSchema, NotFoundSchema } from '../api-schemas';
import type { RouteDoc } from '../openapi';
import { parseBody, parseQuery, sendConflict, sendNotFound } from './validate';

export type RolloutServiceResult = { ok: true; rollout: RolloutView } | { ok: false; status: 400 | 404 | 409; message: string };

/** What the cloud's rollout manager offers the API (structural: the dashboard does not import the cloud). */
export interface RolloutService {
  create(request: z.output<typeof RolloutRequestSchema>, by: string): Promise<RolloutServiceResult>;
  list(): RolloutView[];
  get(id: string): RolloutView | undefined;
  act(id: string, action: RolloutAction, by: string): Promise<RolloutServiceResult>;
}

/** An image travels base64 in the JSON body: allow up to 64 MiB of image. */
export const ROLLOUT_BODY_LIMIT = 90 * 1024 * 1024;

const RolloutParamsSchema = z.object({ id: RolloutIdSchema });
const RolloutActionParamsSchema = z.object({ id: RolloutIdSchema, action: RolloutActionSchema });
const UnavailableRolloutsSchema = z.object({ error: z.literal('unavailable'), message: z.string() });
const RolloutSummarySchema = RolloutViewSchema.omit({ targets: true });

export const rolloutRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/v1/rollouts',
    access: 'technician',
    summary: 'Start a staged rollout of one signed image to a set of targets (canary group first)',
    description:
      'The image (base64) must match the manifest size and sha256; each device verifies the signature itself. Stage 0 starts at once: one retained OTA job per gateway.',
    body: RolloutRequestSchema,
    responses: {
      201: { description: 'started', schema: RolloutViewSchema },
      400: { description: 'invalid request, or the image does not match its manifest', schema: BadRequestSchema },
      409: { description: 'a target is already in an unfinished rollout', schema: ConflictSchema },
      503: { description: 'no rollout service here (dashboard served without the cloud)', schema: UnavailableRolloutsSchema },
    },
  },
  {
    method: 'get',
    path: '/api/v1/rollouts',
    access: 'viewer',
    summary: 'Every rollout, newest first: state, stages and counts (without the per-target list)',
    responses: { 200: { description: 'rollouts', schema: z.array(RolloutSummarySchema) } },
  },
  {
    method: 'get',
    path: '/api/v1/rollouts/:id',
    access: 'viewer',
    summary: "One rollout with every target's outcome",
    params: RolloutParamsSchema,
    responses: {
      200: { description: 'the rollout', schema: RolloutViewSchema },
      404: { description: 'no such rollout', schema: NotFoundSchema },
    },
  },
  {
    method: 'post',
    path: '/api/v1/rollouts/:id/:action',
    access: 'technician',
    summary: 'pause (no chunk served, no stage started), resume, or abort (retained jobs cleared, waiting targets skipped)',
    params: RolloutActionParamsSchema,
    responses: {
      200: { description: 'the rollout after the action', schema: RolloutViewSchema },
      404: { description: 'no such rollout', schema: NotFoundSchema },
      409: { description: 'not possible in its state (e.g. resume a running one, anything on a finished one)', schema: ConflictSchema },
    },
  },
];

function sendResult(reply: FastifyReply, r: RolloutServiceResult, okStatus: 200 | 201): FastifyReply {
  if (r.ok) return reply.code(okStatus).send(r.rollout);
  if (r.status === 404) sendNotFound(reply, r.message);
  else if (r.status === 409) sendConflict(reply, r.message);
  else void reply.code(400).send({ error: 'bad_request', issues: [{ path: 'body.image', reason: r.message }] });
  return reply;
}

export function registerRolloutRoutes(app: FastifyInstance, service: RolloutService | undefined): void {
  const unavailable = (reply: FastifyReply) =>
    reply
      .code(503)
      .send({ error: 'unavailable', message: 'rollouts run in poste-cloud; this dashboard has no broker to send them through' });
  app.post('/api/v1/rollouts', { bodyLimit: ROLLOUT_BODY_LIMIT }, async (req, reply) => {
    if (!service) return unavailable(reply);
    const body = parseBody(RolloutRequestSchema, req.body, reply);
    if (!body) return reply;
    const r = await service.create(body, req.principal!.name);
    if (r.ok) req.log.info({ rollout: r.rollout.id, by: req.principal!.name }, 'rollout started');
    return sendResult(reply, r, 201);
  });
  app.get('/api/v1/rollouts', async (_req, reply) => {
    if (!service) return unavailable(reply);
    return service.list().map(({ targets: _t, ...summary }) => summary);
  });
  app.get('/api/v1/rollouts/:id', async (req, reply) => {
    if (!service) return unavailable(reply);
    const p = parseQuery(RolloutParamsSchema, req.params, reply);
    if (!p) return reply;
    return service.get(p.id) ?? sendNotFound(reply, `no rollout ${p.id}`);
  });
  app.post('/api/v1/rollouts/:id/:action', async (req, reply) => {
    if (!service) return unavailable(reply);
    const p = parseQuery(RolloutActionParamsSchema, req.params, reply);
    if (!p) return reply;
    const r = await service.act(p.id, p.action, req.principal!.name);
    if (r.ok) req.log.info({ rollout: p.id, action: p.action, by: req.principal!.name }, 'rollout action');
    return sendResult(reply, r, 200);
  });
}
