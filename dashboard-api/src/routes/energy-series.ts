import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DeviceIdSchema, GatewayIdSchema, GroupIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import { BadRequestSchema, EnergyTotalsSchema, NotFoundSchema, TimeParamSchema, TimeoutSchema, UnavailableSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import { roundTotals } from '../energy';
import { type EnergySeries, energySeriesSums } from '../energy-series';
import type { RouteDoc } from '../openapi';
import { gatedRead, sendJsonOnce, sendStoreUnavailable } from './gated-read';
import { parseQuery, sendBadRequest, sendNotFound } from './validate';

const DAY_MS = 86_400_000;
/** Default window per granularity when `from` is absent. */
const DEFAULT_SPAN_MS = { hour: 2 * DAY_MS, day: 30 * DAY_MS, month: 365 * DAY_MS } as const;
/** Most luminaire-hours one answer may aggregate in memory (≈ 3,000 luminaires over a 31-day month at 24 h). */
const MAX_LUMINAIRE_HOURS = 2_500_000;

export const EnergySeriesQuerySchema = z
  .object({
    from: TimeParamSchema.optional().describe(
      'start, inclusive (hours are selected by their start); default: to − 2 days (hour), 30 days (day), 365 days (month)',
    ),
    to: TimeParamSchema.optional().describe('end, exclusive; default: now'),
    granularity: z.enum(['hour', 'day', 'month']).default('day').describe("buckets in each municipality's local time (default day)"),
    municipality: MunicipalityIdSchema.optional().describe('only this municipality (404 when unknown); absent = the programme'),
    gateway: GatewayIdSchema.optional(),
    group: GroupIdSchema.optional().describe('only this lighting group (needs municipality: group ids are per municipality)'),
    luminaire: DeviceIdSchema.optional().describe('only this luminaire'),
  })
  .strict();

export const EnergySeriesSchema = EnergyTotalsSchema.extend({
  granularity: z.enum(['hour', 'day', 'month']),
  from: z.number().int(),
  to: z.number().int(),
  points: z.array(EnergyTotalsSchema.extend({ period: z.string().describe('local YYYY-MM-DDTHH, YYYY-MM-DD or YYYY-MM') })),
  unassigned: z.object({ luminaireHours: z.number().int(), measuredKwh: z.number() }),
});

export const energySeriesRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/energy/series',
  access: 'aggregate',
  summary: 'Energy, both baselines, savings (kWh, R$, CO2) per local hour, day or month',
  description:
    "From the store's hourly rollups, each hour placed in its municipality's local calendar: for the whole programme, a day sums every municipality's own local day. Per luminaire, group (with municipality), gateway, municipality or programme. Billing baseline per luminaire-hour with data: baselineW × estimatedDailyHours / 24. Rounded for presentation after summing at full precision.",
  query: EnergySeriesQuerySchema,
  responses: {
    200: { description: 'series', schema: EnergySeriesSchema },
    400: { description: 'invalid query or range too long', schema: BadRequestSchema },
    404: { description: 'unknown municipality', schema: NotFoundSchema },
    503: { description: 'busy or store unavailable; Retry-After', schema: UnavailableSchema },
    504: { description: 'store time-out', schema: TimeoutSchema },
  },
};

class TooManyRowsError extends Error {}

/** Luminaire-hours summed between two turns of the event loop: ~5 ms each on this 2-core machine. */
const SUM_SLICE_ROWS = 4_000;

/**
 * Resolves after the loop has polled for I/O once: a store answer resolves in the poll phase, so one
 * setImmediate would run in the same turn's check phase, before any waiting request is read; the
 * second runs in the next turn's check phase, after that turn's poll.
 */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

export function registerEnergySeriesRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(energySeriesRouteDoc.path, async (req, reply) => {
    const q = parseQuery(EnergySeriesQuerySchema, req.query, reply);
    if (!q) return reply;
    const to = q.to ?? ctx.clock.now();
    const from = q.from ?? to - DEFAULT_SPAN_MS[q.granularity];
    if (from >= to) return sendBadRequest(reply, [{ path: 'from', reason: 'must be before to' }]);
    if (to - from > ctx.limits.maxRangeDays * DAY_MS) {
      return sendBadRequest(reply, [
        { path: 'to', reason: `range is longer than the limit of ${ctx.limits.maxRangeDays} days (maxRangeDays)` },
      ]);
    }
    if (q.group !== undefined && q.municipality === undefined) {
      return sendBadRequest(reply, [{ path: 'group', reason: 'needs municipality (group ids are per municipality)' }]);
    }
    if (q.municipality !== undefined && !ctx.inventory.municipality(q.municipality)) {
      return sendNotFound(reply, `unknown municipality ${q.municipality}`);
    }
    const key = JSON.stringify(['series', q.from ?? null, q.to ?? 'now', q.granularity, q.municipality, q.gateway, q.group, q.luminaire]);
    try {
      const series = await gatedRead<EnergySeries>(ctx, req, reply, {
        route: energySeriesRouteDoc.path,
        key,
        operation: 'luminaireHours',
        work: async () => {
          const hours = await ctx.store.luminaireHours({
            from,
            to,
            ...(q.municipality !== undefined ? { municipality: q.municipality } : {}),
            ...(q.gateway !== undefined ? { gateway: q.gateway } : {}),
            ...(q.luminaire !== undefined ? { device: q.luminaire } : {}),
          });
          if (hours.length > MAX_LUMINAIRE_HOURS) {
            throw new TooManyRowsError(
              `${hours.length} luminaire-hours in the range, more than ${MAX_LUMINAIRE_HOURS} per answer; narrow with municipality=, gateway= or a shorter range`,
            );
          }
          // Summed in slices with a turn of the event loop before each, so the requests that arrive
          // meanwhile are answered (from the cache) while a report is renewed: the store's parse and
          // conversion and then these sums in one go were a stretch of 110–140 ms for a
          // 2,000-luminaire day (48,000 rows) under 50 clients, the API's whole tail (store-reads bench).
          const sums = energySeriesSums(
            ctx.inventory,
            { from, to, granularity: q.granularity },
            q.group !== undefined ? { group: q.group } : {},
          );
          for (let start = 0; start < hours.length; start += SUM_SLICE_ROWS) {
            await yieldToLoop();
            sums.add(hours, start, Math.min(hours.length, start + SUM_SLICE_ROWS));
          }
          const series = sums.result();
          // Rounded once here, so the gate caches the answer as sent: rounding every point of a
          // cached answer again on each request was a tenth of the API's CPU under 50 clients.
          return {
            ...roundTotals(series),
            points: series.points.map(roundTotals),
            unassigned: { ...series.unassigned, measuredKwh: Math.round(series.unassigned.measuredKwh * 1000) / 1000 },
          };
        },
      });
      return series ? sendJsonOnce(reply, series) : reply;
    } catch (err) {
      if (err instanceof TooManyRowsError) return sendBadRequest(reply, [{ path: 'from', reason: err.message }]);
      sendStoreUnavailable(ctx, req, reply, 'luminaireHours', err);
      return reply;
    }
  });
}
