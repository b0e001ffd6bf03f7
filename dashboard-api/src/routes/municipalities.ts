import type { FastifyInstance } from 'fastify';
import { MunicipalityListSchema } from '../api-schemas';
import type { RouteContext } from '../context';
import type { RouteDoc } from '../openapi';

export const municipalitiesRouteDoc: RouteDoc = {
  method: 'get',
  path: '/api/v1/municipalities',
  access: 'aggregate',
  summary: 'Municipalities of the inventory with their tariff, emission factor and baselines',
  responses: { 200: { description: 'municipalities', schema: MunicipalityListSchema } },
};

export function registerMunicipalitiesRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get(municipalitiesRouteDoc.path, async () => ({
    municipalities: ctx.inventory.municipalities.map((m) => ({
      id: m.id,
      name: m.name,
      timeZone: m.timeZone,
      tariffBrlPerKwh: m.tariffBrlPerKwh,
      co2KgPerKwh: m.co2KgPerKwh,
      estimatedDailyHours: m.estimatedDailyHours,
      defaultBaselineW: m.defaultBaselineW,
    })),
  }));
}
