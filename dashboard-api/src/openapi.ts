import { z } from 'zod';
import type { Access } from './auth/roles';

/** 401/403 body, added to every route that needs a token. */
export const AuthErrorSchema = z.object({ error: z.enum(['unauthorized', 'forbidden']), message: z.string() });

/** One documented route. Every route module exports one; /openapi.json is generated from them. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** fastify form: `/api/v1/faults/:id` (OpenAPI gets `{id}`) */
  path: string;
  /** who may call it; enforced by the access hook from this same field */
  access: Access;
  summary: string;
  description?: string;
  query?: z.ZodObject;
  params?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // OpenAPI 3.1 schema objects are JSON Schema 2020-12; the per-schema $schema key is noise there.
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parameters(query: z.ZodObject, where: 'query' | 'path'): JsonSchema[] {
  return Object.entries(query.shape).map(([name, field]) => {
    const schema = field as z.ZodType;
    const param: JsonSchema = {
      name,
      in: where,
      required: where === 'path' || !schema.safeParse(undefined).success,
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
    if (r.access !== 'public') {
      const content = { 'application/json': { schema: jsonSchema(AuthErrorSchema, 'output') } };
      const needed = r.access === 'aggregate' ? 'viewer' : r.access;
      responses['401'] ??= { description: 'no token, or an unknown or revoked one (WWW-Authenticate: Bearer)', content };
      responses['403'] ??= { description: `the token's role is below ${needed}`, content };
    }
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const op: JsonSchema = {
      summary: r.summary,
      operationId: `${r.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      responses,
    };
    if (r.description) op.description = r.description;
    const params = [...(r.params ? parameters(r.params, 'path') : []), ...(r.query ? parameters(r.query, 'query') : [])];
    if (params.length) op.parameters = params;
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } };
    // `aggregate`: public only when the server runs with public reads; documented as optional security.
    if (r.access === 'public') op.security = [];
    else if (r.access === 'aggregate') op.security = [{}, { bearer: [] }];
    else op['x-poste-role'] = r.access;
    paths[path] ??= {};
    paths[path]![r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from `poste-dashboard token create --role R --name N`' },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
