import { z } from 'zod';
import { GatewayIdSchema, MunicipalityIdSchema } from '@poste/protocol';

/** The HTTP contract of the dashboard API: request and response schemas, also the source of /openapi.json. */

export const IssueSchema = z.object({
  path: z.string().describe('query parameter (dotted path for nested input)'),
  reason: z.string(),
});
export const BadRequestSchema = z
  .object({ error: z.literal('bad_request'), issues: z.array(IssueSchema).min(1) })
  .describe('invalid request: every offending parameter with its reason');
export type BadRequest = z.infer<typeof BadRequestSchema>;

export const NotFoundSchema = z.object({ error: z.literal('not_found'), message: z.string() });
export const UnavailableSchema = z
  .object({ error: z.enum(['store_unavailable', 'busy']), message: z.string() })
  .describe(
    "'busy': every query slot taken and the wait queue full; 'store_unavailable': the store failed. Both carry Retry-After (seconds).",
  );
export const TimeoutSchema = z
  .object({ error: z.literal('timeout'), message: z.string() })
  .describe('the store did not answer within the per-request time-out');

const TIME_REASON = 'expected ISO 8601 date-time with offset (e.g. 2024-05-01T00:00:00Z) or ms since epoch';
const isoDateTime = z.iso.datetime({ offset: true });

/** ms since epoch, or undefined when the string is neither digits nor an ISO 8601 date-time with offset. */
export function parseTimeParam(s: string): number | undefined {
  if (/^\d{1,15}$/.test(s)) return Number(s);
  if (isoDateTime.safeParse(s).success) {
    const ms = Date.parse(s);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

export const TimeParamSchema = z
  .string()
  .refine((s) => parseTimeParam(s) !== undefined, TIME_REASON)
  .transform((s) => parseTimeParam(s) ?? Number.NaN);

export const EnergyQuerySchema = z
  .object({
    from: TimeParamSchema.optional().describe(`start, inclusive; ${TIME_REASON}; default: 24 h before \`to\``),
    to: TimeParamSchema.optional().describe(`end, exclusive; ${TIME_REASON}; default: now`),
    municipality: MunicipalityIdSchema.optional().describe('only this municipality (404 when unknown)'),
    gateway: GatewayIdSchema.optional().describe('only luminaires behind this gateway'),
  })
  .strict();

export const FleetQuerySchema = z
  .object({
    municipality: MunicipalityIdSchema.optional().describe('only gateways mapped to this municipality in the inventory (404 when unknown)'),
  })
  .strict();

export const OnlineOfflineSchema = z.object({ online: z.number().int().min(0), offline: z.number().int().min(0) }).strict();
export const FleetSnapshotSchema = z
  .object({ gateways: OnlineOfflineSchema, luminaires: OnlineOfflineSchema, aps: OnlineOfflineSchema })
  .strict()
  .describe('a device counts online only when its own state and its gateway are online');

export const EnergyTotalsSchema = z.object({
  luminaires: z.number().int().describe('luminaires with data in the range'),
  litHours: z.number().describe('h, Σ hours lit'),
  nominalLoadW: z.number().describe('W, Σ pre-retrofit lamp power of these luminaires'),
  measuredKwh: z.number().describe('kWh, Σ activeEnergy deltas'),
  baselineKwh: z.number().describe('kWh, retrofit baseline: pre-retrofit W × hours lit'),
  savedKwh: z.number().describe('kWh, baselineKwh − measuredKwh'),
  savedBrl: z.number().describe('R$, savedKwh × municipal tariff'),
  savedCo2Kg: z.number().describe('kg CO2, savedKwh × grid emission factor'),
  billingBaselineKwh: z.number().describe("kWh, utility's estimated-hours billing: nominal load × estimated daily hours × days"),
  billingSavedKwh: z.number().describe('kWh, billingBaselineKwh − measuredKwh'),
  billingSavedBrl: z.number().describe('R$, billingSavedKwh × municipal tariff'),
});

export const EnergyReportSchema = EnergyTotalsSchema.extend({
  from: z.number().int().describe('ms since epoch, inclusive'),
  to: z.number().int().describe('ms since epoch, exclusive'),
  days: z.number().describe('(to − from) in days'),
  byMunicipality: z.array(EnergyTotalsSchema.extend({ municipality: z.string(), name: z.string() })),
  byGateway: z.array(EnergyTotalsSchema.extend({ gateway: z.string(), municipality: z.string() })),
  byGroup: z.array(EnergyTotalsSchema.extend({ group: z.string(), municipality: z.string() })),
  unassigned: z
    .object({ luminaires: z.number().int(), measuredKwh: z.number() })
    .describe('luminaires whose municipality is not in the inventory; excluded from all totals'),
});

export const MunicipalityListSchema = z.object({
  municipalities: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      timeZone: z.string(),
      tariffBrlPerKwh: z.number(),
      co2KgPerKwh: z.number(),
      estimatedDailyHours: z.number(),
      defaultBaselineW: z.number(),
    }),
  ),
});

export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  store: z.object({ kind: z.string(), reachable: z.boolean(), error: z.string().optional() }),
  fleetLink: z.enum(['connected', 'disconnected', 'none']).describe("'none': the fleet tracker is fed in-process"),
});

/** zod issues → `{ path, reason }`, one per unknown parameter too. */
export function toIssues(error: z.ZodError): BadRequest['issues'] {
  const issues: BadRequest['issues'] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: path ? `${path}.${key}` : key, reason: 'unknown parameter' });
    } else {
      issues.push({ path, reason: issue.message });
    }
  }
  return issues;
}

export function badRequest(issues: BadRequest['issues']): BadRequest {
  return { error: 'bad_request', issues };
}

export const ConflictSchema = z.object({ error: z.literal('conflict'), message: z.string() });

/** `limit` + opaque `cursor` on every list; the answer's `nextCursor` is absent on the last page. */
export const PageQueryShape = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('items per page (1-500, default 50)'),
  cursor: z
    .string()
    .regex(/^[0-9]{1,9}$/, 'cursor: the nextCursor of the previous page')
    .optional()
    .describe('the previous page’s nextCursor'),
};

export function pageOf<T>(
  items: readonly T[],
  q: { limit: number; cursor?: string | undefined },
): { items: T[]; total: number; nextCursor?: string } {
  const start = q.cursor === undefined ? 0 : Number(q.cursor);
  const page = items.slice(start, start + q.limit);
  const next = start + page.length;
  return { items: page, total: items.length, ...(next < items.length ? { nextCursor: String(next) } : {}) };
}

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int().describe('items matching the filters, over all pages'),
    nextCursor: z.string().optional().describe('absent on the last page'),
  });
}
