import type { FastifyInstance } from 'fastify';
import { BadRequestSchema, EnergyQuerySchema, EnergyReportSchema, NotFoundSchema, TimeoutSchema, UnavailableSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import { computeEnergy, roundReport, type EnergyReport } from '../energy';
import { baselineSourceOf, computeEnergyFromCells } from '../energy-cells';
import type { RouteDoc } from '../openapi';
import { gatedRead, sendJsonOnce, sendStoreUnavailable } from './gated-read';
import { parseQuery, sendBadRequest, sendNotFound } from './validate';

const DAY_MS = 86_400_000;

export const energyRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/energy',
  access: 'aggregate',
  summary: 'Measured energy, retrofit and billing baselines, savings in kWh, R$ and CO2',
  description:
    'Totals over [from, to) with rollups by municipality, gateway and group. Figures are rounded for ' +
    'presentation (kWh, kg to 3 decimals; R$ to centavos) after summing at full precision. Bounded: ' +
    'range ≤ maxRangeDays, ≤ maxSeries luminaires, a per-request time-out (504), a cap on concurrent ' +
    'queries with a small queue (503 busy + Retry-After beyond it); identical requests share one query ' +
    'and, for cacheTtlMs, its result.',
  query: EnergyQuerySchema,
  responses: {
    200: { description: 'energy report', schema: EnergyReportSchema },
    400: { description: 'invalid query, range longer than the limit, or more luminaires than the limit', schema: BadRequestSchema },
    404: { description: 'unknown municipality', schema: NotFoundSchema },
    503: {
      description: 'busy (query slots and queue full) or telemetry store unreachable; Retry-After in seconds',
      schema: UnavailableSchema,
    },
    504: { description: 'the store did not answer within the request time-out', schema: TimeoutSchema },
  },
};

/** More luminaires in the range than one response may aggregate. */
class SeriesLimitError extends Error {}

export function registerEnergyRoute(app: FastifyInstance, ctx: RouteContext): void {
  const { maxRangeDays, maxSeries } = ctx.limits;
  app.get(energyRouteDoc.path, async (req, reply) => {
    const q = parseQuery(EnergyQuerySchema, req.query, reply);
    if (!q) return reply;
    const to = q.to ?? ctx.clock.now();
    const from = q.from ?? to - DAY_MS;
    if (from >= to) return sendBadRequest(reply, [{ path: 'from', reason: 'must be before to' }]);
    if (to - from > maxRangeDays * DAY_MS) {
      return sendBadRequest(reply, [
        {
          path: 'to',
          reason: `range of ${((to - from) / DAY_MS).toFixed(1)} days is longer than the limit of ${maxRangeDays} days (maxRangeDays); split it into shorter requests`,
        },
      ]);
    }
    if (q.municipality !== undefined && !ctx.inventory.municipality(q.municipality)) {
      return sendNotFound(reply, `unknown municipality ${q.municipality}`);
    }
    // A request without `to` means "now": identical ones within the cache TTL get the same report,
    // whose from/to say which window it covers.
    const key = JSON.stringify([q.from ?? null, q.to ?? 'now', q.municipality ?? null, q.gateway ?? null]);
    try {
      const report = await gatedRead<EnergyReport>(ctx, req, reply, {
        route: energyRouteDoc.path,
        key,
        operation: 'luminaireEnergy',
        work: async () => {
          // A store that keeps savings sums coarser than the luminaire answers from them (InfluxDB:
          // a programme's 30 days in one read instead of one series per luminaire).
          if (ctx.store.energyCells && q.gateway === undefined) {
            const cells = await ctx.store.energyCells(
              { from, to, ...(q.municipality !== undefined ? { municipality: q.municipality } : {}) },
              baselineSourceOf(ctx.inventory),
            );
            if (cells) {
              const luminaires = cells.rows.length + cells.byGateway.reduce((n, c) => n + c.luminaires, 0);
              if (luminaires > maxSeries) {
                throw new SeriesLimitError(
                  `the range covers ${luminaires} luminaires, more than the limit of ${maxSeries} per response (maxSeries); narrow it with municipality= or gateway=`,
                );
              }
              return roundReport(computeEnergyFromCells(cells, ctx.inventory, { from, to }));
            }
          }
          const rows = await ctx.store.luminaireEnergy({
            from,
            to,
            ...(q.municipality !== undefined ? { municipality: q.municipality } : {}),
            ...(q.gateway !== undefined ? { gateway: q.gateway } : {}),
          });
          if (rows.length > maxSeries) {
            throw new SeriesLimitError(
              `the range covers ${rows.length} luminaires, more than the limit of ${maxSeries} per response (maxSeries); narrow it with municipality= or gateway=`,
            );
          }
          return roundReport(computeEnergy(rows, ctx.inventory, { from, to }));
        },
      });
      return report ? sendJsonOnce(reply, report) : reply;
    } catch (err) {
      if (err instanceof SeriesLimitError)
        return sendBadRequest(reply, [{ path: q.gateway !== undefined ? 'gateway' : 'municipality', reason: err.message }]);
      sendStoreUnavailable(ctx, req, reply, 'luminaireEnergy', err);
      return reply;
    }
  });
}
