import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteContext } from '../context';
import { GateBusyError, GateTimeoutError } from '../read-gate';

/**
 * Runs an expensive store read through the read gate and turns its refusals into cheap answers:
 * 503 `busy` + Retry-After, 504 `timeout`, 503 `store_unavailable` + Retry-After. Resolves to the
 * value, or undefined once the reply has been sent.
 */
export async function gatedRead<T>(
  ctx: RouteContext,
  req: FastifyRequest,
  reply: FastifyReply,
  spec: { route: string; key: string; operation: string; work: () => Promise<T> },
): Promise<T | undefined> {
  try {
    return await ctx.readGate.run(spec.key, ctx.limits.timeoutMs, spec.work);
  } catch (err) {
    if (err instanceof GateBusyError) {
      // Shedding must cost less than serving: no stack, no error-level log, a small constant body.
      ctx.metrics.readsShed.inc({ route: spec.route });
      void reply
        .code(503)
        .header('retry-after', String(ctx.limits.retryAfterSeconds))
        .send({ error: 'busy', message: `too many expensive requests: ${err.message}; retry after ${ctx.limits.retryAfterSeconds} s` });
      return undefined;
    }
    if (err instanceof GateTimeoutError) {
      ctx.metrics.readTimeouts.inc({ route: spec.route });
      req.log.warn({ timeoutMs: err.timeoutMs }, `${spec.route}: store query outlasted the request time-out`);
      void reply.code(504).send({ error: 'timeout', message: `${err.message}; ask for a shorter range or one municipality` });
      return undefined;
    }
    throw err;
  }
}

/** A failed store call: counted, logged, 503 with Retry-After (the store may be back soon). */
export function sendStoreUnavailable(ctx: RouteContext, req: FastifyRequest, reply: FastifyReply, operation: string, err: unknown): void {
  ctx.metrics.storeErrors.inc({ operation });
  req.log.error({ err }, `${operation}: store query failed`);
  void reply
    .code(503)
    .header('retry-after', String(ctx.limits.retryAfterSeconds))
    .send({ error: 'store_unavailable', message: (err as Error).message });
}

const serialized = new WeakMap<object, string>();

/**
 * Sends a gated read's answer as JSON serialized once per answer: the gate hands the same object
 * to every request it serves from its cache, and serializing it again for each of 50 clients was
 * the API's largest CPU cost after the queries (store-reads bench profile).
 */
export function sendJsonOnce(reply: FastifyReply, value: object): FastifyReply {
  let json = serialized.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    serialized.set(value, json);
  }
  return reply.type('application/json; charset=utf-8').send(json);
}
