import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';

export const PoleSchema = z.object({
  id: z.string(),
  kind: z.enum(['luminaire', 'ap']),
  lat: z.number(),
  lon: z.number(),
  municipality: z.string(),
  status: z
    .enum(['ok', 'fault', 'offline', 'unknown'])
    .describe('fault: an active fault names it; offline: unreachable; unknown: never seen'),
  freePoint: z.boolean().optional(),
});

export const polesRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/poles',
  access: 'viewer',
  summary: 'Every luminaire and AP with coordinates in the inventory, with its status (the map)',
  responses: { 200: { description: 'poles', schema: z.object({ poles: z.array(PoleSchema) }) } },
};

export function registerPolesRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(polesRouteDoc.path, async () => {
    const seen = new Map(ctx.fleet.devices().map((d) => [d.device, d]));
    const faulty = new Set<string>();
    for (const f of ctx.faults.all()) if (f.state !== 'cleared' && f.device) faulty.add(f.device);
    const poles: z.infer<typeof PoleSchema>[] = [];
    const add = (id: string, kind: 'luminaire' | 'ap', e: { lat?: number | undefined; lon?: number | undefined }, freePoint?: boolean) => {
      if (e.lat === undefined || e.lon === undefined) return;
      const d = seen.get(id);
      const status = !d ? 'unknown' : !d.reachable ? 'offline' : faulty.has(id) ? 'fault' : 'ok';
      poles.push({
        id,
        kind,
        lat: e.lat,
        lon: e.lon,
        municipality: d ? (ctx.inventory.gateways[d.gateway] ?? '') : '',
        status,
        ...(freePoint ? { freePoint } : {}),
      });
    };
    for (const [id, e] of Object.entries(ctx.inventory.luminaires)) add(id, 'luminaire', e);
    for (const [id, e] of Object.entries(ctx.inventory.aps)) add(id, 'ap', e, e.freePoint);
    return { poles };
  });
}
