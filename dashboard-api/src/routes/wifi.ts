import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApHour } from '@poste/telemetry-store';
import { MunicipalityIdSchema } from '@poste/protocol';
import { BadRequestSchema, NotFoundSchema, TimeParamSchema, TimeoutSchema, UnavailableSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';
import { apFigures, householdLedger } from '../wifi-aps';
import { freePointFigures, wifiSeries } from '../wifi-figures';
import { gatedRead, sendStoreUnavailable } from './gated-read';
import { HouseholdParamsSchema } from './households';
import { parseQuery, sendBadRequest, sendNotFound } from './validate';

const DAY_MS = 86_400_000;
const ClassBytesSchema = z.object({ household: z.number(), public: z.number(), telemedicine: z.number() }).describe('bytes');
const ReserveSchema = z
  .object({
    measuredS: z.number().describe('s in which the APs measured the household class'),
    honouredS: z.number().describe('s in which the household got its demand or at least its reserve'),
    honouredPct: z.number().nullable().describe('honouredS / measuredS in %; null when nothing was measured'),
  })
  .describe("the households' reserve: the share of time it was honoured");
const sessionsField = z.number().int().describe('telemedicine sessions started (from the APs’ session counters)');
const RangeShape = {
  from: TimeParamSchema.optional().describe('inclusive (hours by their start); default: to − 1 day (free points), 7 days (series, ledger)'),
  to: TimeParamSchema.optional().describe('exclusive; default now'),
};
const WifiSeriesQuerySchema = z
  .object({ ...RangeShape, granularity: z.enum(['hour', 'day', 'month']).default('hour'), municipality: MunicipalityIdSchema.optional() })
  .strict();
const FreePointsQuerySchema = z.object({ ...RangeShape, municipality: MunicipalityIdSchema.optional() }).strict();
const LedgerQuerySchema = z.object(RangeShape).strict();
const ApsQuerySchema = z.object({ ...RangeShape, municipality: MunicipalityIdSchema.optional() }).strict();

const errors = {
  400: { description: 'invalid query', schema: BadRequestSchema },
  503: { description: 'busy or store unavailable; Retry-After', schema: UnavailableSchema },
  504: { description: 'store time-out', schema: TimeoutSchema },
};
export const wifiRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/wifi/series',
    access: 'aggregate',
    summary: 'Wi-Fi bytes per class (household, public, telemedicine) per local hour/day/month',
    query: WifiSeriesQuerySchema,
    responses: {
      200: {
        description: 'series',
        schema: z.object({
          from: z.number(),
          to: z.number(),
          granularity: z.string(),
          bytes: ClassBytesSchema,
          telemedicineSessions: sessionsField,
          reserve: ReserveSchema,
          points: z.array(
            z.object({
              period: z.string(),
              bytes: ClassBytesSchema,
              telemedicineClientHours: z.number(),
              telemedicineSessions: sessionsField,
              reserve: ReserveSchema,
              aps: z.number().int(),
            }),
          ),
        }),
      },
      404: { description: 'unknown municipality', schema: NotFoundSchema },
      ...errors,
    },
  },
  {
    method: 'get',
    path: '/api/v1/wifi/free-points',
    access: 'aggregate',
    summary: "The programme's free Wi-Fi points: uptime, clients, spare capacity against the quality threshold",
    query: FreePointsQuerySchema,
    responses: {
      200: {
        description: 'points, and those below the threshold',
        schema: z.object({ points: z.array(z.record(z.string(), z.unknown())), below: z.array(z.string()) }),
      },
      ...errors,
    },
  },
  {
    method: 'get',
    path: '/api/v1/wifi/aps',
    access: 'viewer',
    summary:
      'Per access point: bytes per class, telemedicine sessions, the share of time its household’s reserve was honoured, and the household that cedes it',
    query: ApsQuerySchema,
    responses: {
      200: {
        description: 'APs with hours in the range, by municipality',
        schema: z.object({
          from: z.number(),
          to: z.number(),
          aps: z.array(
            z.object({
              ap: z.string(),
              municipality: z.string(),
              freePoint: z.boolean(),
              household: z.object({ id: z.string(), name: z.string(), cededKbps: z.number() }).optional(),
              bytes: ClassBytesSchema,
              telemedicineSessions: sessionsField,
              reserve: ReserveSchema,
              reportingHours: z.number().int(),
            }),
          ),
        }),
      },
      404: { description: 'unknown municipality', schema: NotFoundSchema },
      ...errors,
    },
  },
  {
    method: 'get',
    path: '/api/v1/households/:id/ledger',
    access: 'viewer',
    summary:
      "A household's contribution ledger per local day: public and telemedicine bytes its AP carried, telemedicine sessions, hours ceded, and the share of time its reserve was honoured",
    params: HouseholdParamsSchema,
    query: LedgerQuerySchema,
    responses: {
      200: {
        description: 'ledger',
        schema: z.object({
          household: z.string(),
          days: z.array(
            z.object({
              day: z.string(),
              publicBytes: z.number(),
              telemedicineBytes: z.number(),
              telemedicineClientHours: z.number(),
              telemedicineSessions: sessionsField,
              reserve: ReserveSchema,
              cededHours: z.number().int(),
              reportingHours: z.number().int(),
            }),
          ),
          totals: z.object({
            publicBytes: z.number(),
            telemedicineBytes: z.number(),
            telemedicineSessions: sessionsField,
            cededHours: z.number().int(),
            reserve: ReserveSchema,
          }),
        }),
      },
      404: { description: 'no such household', schema: NotFoundSchema },
      ...errors,
    },
  },
];

function range(q: { from?: number | undefined; to?: number | undefined }, ctx: RouteContext, reply: FastifyReply, defaultSpan: number) {
  const to = q.to ?? ctx.clock.now();
  const from = q.from ?? to - defaultSpan;
  if (from >= to) return sendBadRequest(reply, [{ path: 'from', reason: 'must be before to' }]);
  if (to - from > ctx.limits.maxRangeDays * DAY_MS)
    return sendBadRequest(reply, [
      { path: 'to', reason: `range is longer than the limit of ${ctx.limits.maxRangeDays} days (maxRangeDays)` },
    ]);
  return { from, to };
}

async function readHours<T>(
  ctx: RouteContext,
  req: FastifyRequest,
  reply: FastifyReply,
  route: string,
  key: string,
  q: { from: number; to: number; municipality?: string; device?: string },
  then: (h: ApHour[]) => T,
): Promise<T | FastifyReply> {
  try {
    const r = await gatedRead(ctx, req, reply, { route, key, operation: 'apHours', work: async () => then(await ctx.store.apHours(q)) });
    return r ?? reply;
  } catch (err) {
    sendStoreUnavailable(ctx, req, reply, 'apHours', err);
    return reply;
  }
}

export function registerWifiRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/wifi/series', async (req, reply) => {
    const q = parseQuery(WifiSeriesQuerySchema, req.query, reply);
    if (!q) return reply;
    if (q.municipality !== undefined && !ctx.inventory.municipality(q.municipality))
      return sendNotFound(reply, `unknown municipality ${q.municipality}`);
    const r = range(q, ctx, reply, 7 * DAY_MS);
    if (!r) return reply;
    const key = JSON.stringify(['wifi', q.from ?? null, q.to ?? 'now', q.granularity, q.municipality]);
    return readHours(
      ctx,
      req,
      reply,
      '/api/v1/wifi/series',
      key,
      { ...r, ...(q.municipality ? { municipality: q.municipality } : {}) },
      (hours) => ({
        ...r,
        granularity: q.granularity,
        ...wifiSeries(hours, ctx.inventory, q.granularity),
      }),
    );
  });
  app.get('/api/v1/wifi/free-points', async (req, reply) => {
    const q = parseQuery(FreePointsQuerySchema, req.query, reply);
    if (!q) return reply;
    const r = range(q, ctx, reply, DAY_MS);
    if (!r) return reply;
    const key = JSON.stringify(['free', q.from ?? null, q.to ?? 'now', q.municipality]);
    return readHours(
      ctx,
      req,
      reply,
      '/api/v1/wifi/free-points',
      key,
      { ...r, ...(q.municipality ? { municipality: q.municipality } : {}) },
      (hours) => {
        const points = freePointFigures(hours, ctx.inventory, r).filter(
          (p) => q.municipality === undefined || p.municipality === q.municipality,
        );
        return { ...r, points, below: points.filter((p) => p.belowQuality).map((p) => p.ap) };
      },
    );
  });
  app.get('/api/v1/wifi/aps', async (req, reply) => {
    const q = parseQuery(ApsQuerySchema, req.query, reply);
    if (!q) return reply;
    if (q.municipality !== undefined && !ctx.inventory.municipality(q.municipality))
      return sendNotFound(reply, `unknown municipality ${q.municipality}`);
    const r = range(q, ctx, reply, 7 * DAY_MS);
    if (!r) return reply;
    // The household part changes without new hours (enrolment, revocation): it is joined after the cached read.
    const key = JSON.stringify(['aps', q.from ?? null, q.to ?? 'now', q.municipality]);
    const hours = await readHours(
      ctx,
      req,
      reply,
      '/api/v1/wifi/aps',
      key,
      { ...r, ...(q.municipality ? { municipality: q.municipality } : {}) },
      (h) => h,
    );
    if (!Array.isArray(hours)) return hours;
    return { ...r, aps: apFigures(hours, ctx.inventory, ctx.households.all()) };
  });
  app.get('/api/v1/households/:id/ledger', async (req, reply) => {
    const p = parseQuery(HouseholdParamsSchema, req.params, reply);
    if (!p) return reply;
    const q = parseQuery(LedgerQuerySchema, req.query, reply);
    if (!q) return reply;
    const h = ctx.households.get(p.id);
    if (!h) return sendNotFound(reply, `no household ${p.id}`);
    const r = range(q, ctx, reply, 7 * DAY_MS);
    if (!r) return reply;
    // Only while enrolled: what the household ceded, not what its AP carried before or after.
    const from = Math.max(r.from, Math.floor(h.enrolledAt / 3_600_000) * 3_600_000);
    const to = Math.min(r.to, h.revokedAt ?? r.to);
    const tz = ctx.inventory.municipality(h.municipality)?.timeZone ?? 'America/Sao_Paulo';
    const key = JSON.stringify(['ledger', h.id, h.state, q.from ?? null, q.to ?? 'now']);
    return readHours(ctx, req, reply, '/api/v1/households/:id/ledger', key, { from, to: Math.max(from + 1, to), device: h.ap }, (hours) =>
      householdLedger(h, hours, tz),
    );
  });
}
