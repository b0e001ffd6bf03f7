import { z } from 'zod';

/** One documented route. Every route module exports one; /openapi.json is generated from them. */
export interface RouteDoc {
  method: 'get';
  path: string;
  summary: string;
  description?: string;
  query?: z.ZodObject;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // OpenAPI 3.1 schema objects are JSON Schema 2020-12; the per-schema $schema key is noise there.
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function queryParameters(query: z.ZodObject): JsonSchema[] {
  return Object.entries(query.shape).map(([name, field]) => {
    const schema = field as z.ZodType;
    const param: JsonSchema = {
      name,
      in: 'query',
      required: !schema.safeParse(undefined).success,
      schema: jsonSchema(schema, 'input'),
    };
    if (schema.description) param.description = schema.description;
    return param;
  });
}

export function buildOpenApiDocument(
  routes: readonly RouteDoc[],
  info: { title: string; version: string; description?: string },
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      const entry: JsonSchema = { description: res.description };
      const type = res.contentType ?? 'application/json';
      entry.content = { [type]: res.schema ? { schema: jsonSchema(res.schema, 'output') } : { schema: { type: 'string' } } };
      responses[status] = entry;
    }
    const op: JsonSchema = {
      summary: r.summary,
      operationId: `${r.method}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      responses,
    };
    if (r.description) op.description = r.description;
    if (r.query) op.parameters = queryParameters(r.query);
    paths[r.path] ??= {};
    paths[r.path]![r.method] = op;
  }
  return { openapi: '3.1.0', info, paths };
}
