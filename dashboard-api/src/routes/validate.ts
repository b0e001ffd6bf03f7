import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { badRequest, toIssues, type BadRequest } from '../api-schemas';

/** Validates a query with zod; on failure sends the 400 and returns undefined. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown, reply: FastifyReply): z.output<S> | undefined {
  const r = schema.safeParse(query ?? {});
  if (r.success) return r.data;
  void reply.code(400).send(badRequest(toIssues(r.error)));
  return undefined;
}

export function sendBadRequest(reply: FastifyReply, issues: BadRequest['issues']): void {
  void reply.code(400).send(badRequest(issues));
}

export function sendNotFound(reply: FastifyReply, message: string): void {
  void reply.code(404).send({ error: 'not_found', message });
}

/** Validates a JSON body with zod; on failure sends the 400 (paths prefixed `body.`) and returns undefined. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, reply: FastifyReply): z.output<S> | undefined {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  void reply.code(400).send(badRequest(toIssues(r.error).map((i) => ({ ...i, path: i.path ? `body.${i.path}` : 'body' }))));
  return undefined;
}

export function sendConflict(reply: FastifyReply, message: string): void {
  void reply.code(409).send({ error: 'conflict', message });
}
