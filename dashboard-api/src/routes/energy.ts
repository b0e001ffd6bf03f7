import type { FastifyInstance } from 'fastify';
import {
  BadRequestSchema,
  EnergyQuerySchema,
  EnergyReportSchema,
  MAX_RANGE_DAYS,
  NotFoundSchema,
  UnavailableSchema,
} from '../api-schemas';
import type { RouteContext } from '../context';
import { computeEnergy, roundReport } from '../energy';
import type { RouteDoc } from '../openapi';
import { parseQuery, sendBadRequest, sendNotFound } from './validate';

const DAY_MS = 86_400_000;

export const energyRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/energy',
  summary: 'Measured energy, retrofit and billing baselines, savings in kWh, R$ and CO2',
  description:
    'Totals over [from, to) with rollups by municipality, gateway and group. Figures are rounded for ' +
    'presentation (kWh, kg to 3 decimals; R$ to centavos) after summing at full precision.',
  query: EnergyQuerySchema,
  responses: {
    200: { description: 'energy report', schema: EnergyReportSchema },
    400: { description: 'invalid query', schema: BadRequestSchema },
    404: { description: 'unknown municipality', schema: NotFoundSchema },
    503: { description: 'telemetry store unreachable', schema: UnavailableSchema },
  },
};

export function registerEnergyRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(energyRouteDoc.path, async (req, reply) => {
    const q = parseQuery(EnergyQuerySchema, req.query, reply);
    if (!q) return reply;
    const to = q.to ?? ctx.clock.now();
    const from = q.from ?? to - DAY_MS;
    if (from >= to) return sendBadRequest(reply, [{ path: 'from', reason: 'must be before to' }]);
    if (to - from > MAX_RANGE_DAYS * DAY_MS) {
      return sendBadRequest(reply, [{ path: 'to', reason: `range longer than ${MAX_RANGE_DAYS} days` }]);
    }
    if (q.municipality !== undefined && !ctx.inventory.municipality(q.municipality)) {
      return sendNotFound(reply, `unknown municipality ${q.municipality}`);
    }
    let rows;
    try {
      rows = await ctx.store.luminaireEnergy({
        from,
        to,
        ...(q.municipality !== undefined ? { municipality: q.municipality } : {}),
        ...(q.gateway !== undefined ? { gateway: q.gateway } : {}),
      });
    } catch (err) {
      ctx.metrics.storeErrors.inc({ operation: 'luminaireEnergy' });
      req.log.error({ err }, 'energy: store query failed');
      return reply.code(503).send({ error: 'store_unavailable', message: (err as Error).message });
    }
    return roundReport(computeEnergy(rows, ctx.inventory, { from, to }));
  });
}
