import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../context';
import type { LiveEvent } from '../events/event-hub';
import type { RouteDoc } from '../openapi';

/** Most SSE connections at once; beyond, 503 (each holds a socket and a backlog). */
export const MAX_STREAM_CLIENTS = 64;
/** A client that does not read: its connection is closed once this many bytes wait for it. */
const MAX_BACKLOG_BYTES = 1 << 20;
const HEARTBEAT_MS = 15_000;

export const StreamEventSchema = z
  .object({
    id: z.number().int().describe('increasing; send it back as Last-Event-ID to resume'),
    type: z.enum(['fleet', 'fault', 'command', 'household']),
    ts: z.number().int(),
    data: z.unknown(),
  })
  .describe(
    'text/event-stream: each message is `id: N`, `event: TYPE`, `data: JSON`. fleet: {changes, devices[≤100], snapshot}; fault: the fault record; command: the command record with its outcome; household: enrolment changes (ids only)',
  );

export const streamRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/stream',
  access: 'viewer',
  summary: 'Server-sent events: fleet changes, faults, command outcomes',
  description:
    'A comment line every 15 s keeps proxies from closing the connection. Reconnect with Last-Event-ID to replay recent events (the last 512). EventSource cannot send Authorization: read it with fetch() and a stream reader.',
  responses: {
    200: { description: 'event stream', schema: StreamEventSchema, contentType: 'text/event-stream' },
    401: { description: 'no or unknown token' },
    503: { description: `more than ${MAX_STREAM_CLIENTS} streams open` },
  },
};

const frame = (e: LiveEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ts: e.ts, ...(e.data as object) })}\n\n`;

export function registerStreamRoute(app: FastifyInstance, ctx: RouteContext): void {
  let open = 0;
  const closers = new Set<() => void>();
  // Streams never end by themselves: end them when the server closes, or close() would wait for them.
  app.addHook('preClose', async () => {
    for (const c of [...closers]) c();
  });
  app.get(streamRouteDoc.path, async (req, reply) => {
    if (open >= MAX_STREAM_CLIENTS) {
      return reply
        .code(503)
        .header('retry-after', '10')
        .send({ error: 'busy', message: `${MAX_STREAM_CLIENTS} streams open already` });
    }
    const last = Number(req.headers['last-event-id']);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    open += 1;
    let closed = false;
    const write = (chunk: string) => {
      if (closed) return;
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        req.log.warn('stream: client does not read; closing its connection');
        close();
        return;
      }
      res.write(chunk);
    };
    const unsubscribe = ctx.hub.subscribe((e) => write(frame(e)));
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      open -= 1;
      closers.delete(close);
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    closers.add(close);
    res.on('close', close);
    write('retry: 3000\n: connected\n\n');
    if (Number.isInteger(last) && last > 0) for (const e of ctx.hub.since(last)) write(frame(e));
  });
}
