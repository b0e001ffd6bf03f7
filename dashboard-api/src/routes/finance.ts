import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LuminaireHour } from '@poste/telemetry-store';
import { MunicipalityIdSchema } from '@poste/protocol';
import { BadRequestSchema, NotFoundSchema, TimeoutSchema, UnavailableSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import { computeEnergySeries } from '../energy-series';
import { MonthSchema } from '../finance/finance-book';
import { type MunicipalityFinance, monthsBetween, municipalityFinance } from '../finance/spend-revenue';
import { localLabel } from '../local-calendar';
import type { RouteDoc } from '../openapi';
import { gatedRead, sendStoreUnavailable } from './gated-read';
import { parseBody, parseQuery, sendBadRequest, sendNotFound } from './validate';

const DAY_MS = 86_400_000;
const FinanceQuerySchema = z
  .object({
    from: MonthSchema.optional().describe('first month, YYYY-MM (default: 11 months before to)'),
    to: MonthSchema.optional().describe('last month, inclusive (default: this month)'),
    municipality: MunicipalityIdSchema.optional(),
  })
  .strict();
const MunicipalityParams = z.object({ municipality: MunicipalityIdSchema });
const RevenueParams = MunicipalityParams.extend({ month: MonthSchema });
const RevenueBody = z.object({ cipBrl: z.number().min(0).max(1e12).describe('R$ collected that month (CIP/COSIP)') }).strict();
const InvestmentBody = z.object({ ledRetrofitBrl: z.number().min(0).max(1e12).describe('R$ invested in the LED retrofit') }).strict();

export const financeRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/finance',
    access: 'aggregate',
    summary: 'Spend against revenue per municipality and month, ranked for the programme',
    description:
      'Spend = measured kWh × tariff, and as billed by estimated hours (billing baseline × tariff); revenue = the CIP/COSIP entered; ratio = spend ÷ revenue; trend = slope of the measured ratio per month; payback = investment ÷ mean monthly retrofit savings (R$). `ranking` orders the municipalities by billed ratio, highest first: where estimated-hours billing weighs most on the revenue, moving to measured billing and LED pays most.',
    query: FinanceQuerySchema,
    responses: {
      200: {
        description: 'per municipality',
        schema: z.object({
          months: z.array(z.string()),
          municipalities: z.array(z.record(z.string(), z.unknown())),
          ranking: z.array(z.string()),
        }),
      },
      400: { description: 'invalid query', schema: BadRequestSchema },
      404: { description: 'unknown municipality', schema: NotFoundSchema },
      503: { description: 'busy or store unavailable', schema: UnavailableSchema },
      504: { description: 'store time-out', schema: TimeoutSchema },
    },
  },
  {
    method: 'put',
    path: '/api/v1/finance/:municipality/revenue/:month',
    access: 'operator',
    summary: 'Enter a month’s public-lighting revenue (CIP/COSIP)',
    params: RevenueParams,
    body: RevenueBody,
    responses: {
      200: { description: 'stored', schema: RevenueBody.extend({ municipality: z.string(), month: z.string() }) },
      400: { description: 'invalid', schema: BadRequestSchema },
      404: { description: 'unknown municipality', schema: NotFoundSchema },
    },
  },
  {
    method: 'put',
    path: '/api/v1/finance/:municipality/investment',
    access: 'operator',
    summary: 'Enter the LED retrofit investment (for the payback)',
    params: MunicipalityParams,
    body: InvestmentBody,
    responses: {
      200: { description: 'stored', schema: InvestmentBody.extend({ municipality: z.string() }) },
      400: { description: 'invalid', schema: BadRequestSchema },
      404: { description: 'unknown municipality', schema: NotFoundSchema },
    },
  },
];

const monthStartUtc = (month: string) => Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1, 1);

export function registerFinanceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/finance', async (req, reply) => {
    const q = parseQuery(FinanceQuerySchema, req.query, reply);
    if (!q) return reply;
    const tz = ctx.inventory.municipalities[0]!.timeZone;
    const to = q.to ?? localLabel(ctx.clock.now(), tz, 'month');
    const from = q.from ?? localLabel(monthStartUtc(to) - 300 * DAY_MS, tz, 'month');
    const months = monthsBetween(from, to);
    if (months.length === 0) return sendBadRequest(reply, [{ path: 'from', reason: 'must not be after to' }]);
    if (months.length * 31 > ctx.limits.maxRangeDays + 31)
      return sendBadRequest(reply, [{ path: 'to', reason: `more months than maxRangeDays (${ctx.limits.maxRangeDays}) allows` }]);
    const targets =
      q.municipality === undefined ? ctx.inventory.municipalities : ctx.inventory.municipalities.filter((m) => m.id === q.municipality);
    if (targets.length === 0) return sendNotFound(reply, `unknown municipality ${q.municipality}`);
    // A day either side: local months start at local midnight, hours are UTC.
    const range = { from: monthStartUtc(from) - DAY_MS, to: monthStartUtc(monthsBetween(to, to)[0]!) + 32 * DAY_MS };
    const key = JSON.stringify([
      'finance',
      from,
      to,
      q.municipality ?? null,
      q.to === undefined ? ctx.clock.now() - (ctx.clock.now() % 60_000) : 0,
    ]);
    try {
      const result = await gatedRead(ctx, req, reply, {
        route: '/api/v1/finance',
        key,
        operation: 'luminaireHours',
        work: async () => {
          const hours = await ctx.store.luminaireHours({ ...range, ...(q.municipality ? { municipality: q.municipality } : {}) });
          const byMunicipality = new Map<string, LuminaireHour[]>();
          for (const h of hours) {
            const id = ctx.inventory.municipality(h.municipality)?.id ?? ctx.inventory.gateways[h.gateway] ?? '';
            const list = byMunicipality.get(id) ?? [];
            list.push(h);
            byMunicipality.set(id, list);
          }
          const data = ctx.finance.data();
          const rows: MunicipalityFinance[] = targets.map((m) =>
            municipalityFinance(
              m,
              computeEnergySeries(byMunicipality.get(m.id) ?? [], ctx.inventory, { ...range, granularity: 'month' }),
              months,
              data,
            ),
          );
          const ranking = [...rows].sort((a, b) => (b.billedRatio ?? -1) - (a.billedRatio ?? -1)).map((r) => r.municipality);
          return { months, municipalities: rows, ranking };
        },
      });
      return result ?? reply;
    } catch (err) {
      sendStoreUnavailable(ctx, req, reply, 'luminaireHours', err);
      return reply;
    }
  });
  app.put('/api/v1/finance/:municipality/revenue/:month', async (req, reply) => {
    const p = parseQuery(RevenueParams, req.params, reply);
    if (!p) return reply;
    const b = parseBody(RevenueBody, req.body, reply);
    if (!b) return reply;
    if (!ctx.inventory.municipality(p.municipality)) return sendNotFound(reply, `unknown municipality ${p.municipality}`);
    await ctx.finance.setRevenue(p.municipality, p.month, b.cipBrl);
    req.log.info({ municipality: p.municipality, month: p.month, by: req.principal?.name }, 'revenue entered');
    return { municipality: p.municipality, month: p.month, cipBrl: b.cipBrl };
  });
  app.put('/api/v1/finance/:municipality/investment', async (req, reply) => {
    const p = parseQuery(MunicipalityParams, req.params, reply);
    if (!p) return reply;
    const b = parseBody(InvestmentBody, req.body, reply);
    if (!b) return reply;
    if (!ctx.inventory.municipality(p.municipality)) return sendNotFound(reply, `unknown municipality ${p.municipality}`);
    await ctx.finance.setInvestment(p.municipality, b.ledRetrofitBrl, req.principal?.name ?? '', ctx.clock.now());
    return { municipality: p.municipality, ledRetrofitBrl: b.ledRetrofitBrl };
  });
}
