/**
 * Renders a JSON Schema (as zod 4's `z.toJSONSchema(schema, { io: 'input' })` emits it) as a
 * markdown configuration table: one row per field, nested fields as dotted paths (`a.b`), array
 * items as `a[]`, record values as `a.{key}`; fields of a discriminated union's variants say
 * which variant they belong to ("when `kind` is 'x'") at the start of their description.
 * Working from the JSON Schema rather than zod internals keeps the table and the published schema
 * file consistent by construction.
 */

export type JsonSchema = {
  [key: string]: unknown;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
};

export interface ConfigRow {
  path: string;
  type: string;
  default: string;
  constraints: string;
  description: string;
}

// `.int()` bounds: zod writes ±MAX_SAFE_INTEGER, which says nothing to a reader.
const SAFE_BOUND = Number.MAX_SAFE_INTEGER;

/** Flattens a JSON Schema into rows, parents before their fields. */
export function configRows(root: JsonSchema): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const defs = root.$defs ?? {};
  const resolve = (node: JsonSchema, seen: Set<string>): JsonSchema => {
    if (!node.$ref) return node;
    const name = /^#\/\$defs\/(.+)$/.exec(node.$ref)?.[1];
    const target = name === undefined ? undefined : defs[name];
    if (!target || seen.has(node.$ref)) return { description: node.description, type: `see ${node.$ref}` };
    seen.add(node.$ref);
    const { $ref: _ref, ...rest } = node;
    return { ...resolve(target, seen), ...rest };
  };

  const walk = (raw: JsonSchema, path: string, required: boolean, seen: Set<string>): void => {
    const node = resolve(raw, new Set(seen));
    const variants = node.oneOf ?? node.anyOf;
    if (node.allOf) {
      if (path) rows.push(row(node, path, required, 'object'));
      for (const part of node.allOf) walkFields(resolve(part, seen), path, seen);
      return;
    }
    if (variants) {
      const resolved = variants.map((v) => resolve(v, seen));
      const discriminator = discriminatorOf(resolved);
      if (discriminator) {
        const values = resolved.map((v) => v.properties?.[discriminator]?.const);
        rows.push({
          ...row(node, join(path, discriminator), true, values.map(literal).join(' \\| ')),
          description: joinText('selects one of the variants below', node.description),
        });
        for (const [i, v] of resolved.entries()) {
          // Fields keep their natural path; the variant they belong to is said first in the description.
          const when = `when \`${discriminator}\` is ${literal(values[i])}`;
          const start = rows.length;
          walkFields({ ...v, properties: omit(v.properties ?? {}, discriminator) }, path, seen);
          for (let r = start; r < rows.length; r++) rows[r]!.description = joinText(when, rows[r]!.description || undefined);
        }
        return;
      }
      const objects = resolved.filter(isObject);
      rows.push(row(node, path, required, resolved.map(typeOf).join(' \\| ')));
      for (const v of objects) walkFields(v, path, seen);
      return;
    }
    if (isObject(node)) {
      if (path) rows.push(row(node, path, required, typeOf(node)));
      walkFields(node, path, seen);
      return;
    }
    if (node.type === 'array' && node.items && isContainer(resolve(node.items, seen))) {
      const items = resolve(node.items, seen);
      rows.push(row(node, path, required, `${typeOf(items)}[]`));
      // An object's own row would repeat the array's: go straight to its fields.
      if (isObject(items)) walkFields(items, `${path}[]`, seen);
      else walk(items, `${path}[]`, true, seen);
      return;
    }
    rows.push(row(node, path, required, typeOf(node)));
  };

  const walkFields = (node: JsonSchema, path: string, seen: Set<string>): void => {
    const required = new Set(node.required ?? []);
    for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, join(path, key), required.has(key), seen);
    const extra = node.additionalProperties;
    if (typeof extra === 'object' && Object.keys(extra).length > 0) walk(extra, join(path, '{key}'), true, seen);
  };

  walk(root, '', true, new Set());
  return rows;
}

/** The markdown table for a schema. */
export function renderConfigTable(root: JsonSchema): string {
  const rows = configRows(root);
  const lines = ['| field | type | default | constraints | description |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${code(r.path)} | ${r.type} | ${r.default} | ${r.constraints} | ${cell(r.description)} |`);
  }
  return lines.join('\n');
}

function row(node: JsonSchema, path: string, required: boolean, type: string): ConfigRow {
  return {
    path,
    type,
    default: defaultOf(node, required),
    constraints: constraintsOf(node).join(', '),
    description: node.description ?? '',
  };
}

function isObject(node: JsonSchema): boolean {
  return node.type === 'object' && (node.properties !== undefined || typeof node.additionalProperties === 'object');
}

function isContainer(node: JsonSchema): boolean {
  return isObject(node) || node.oneOf !== undefined || node.anyOf !== undefined || node.allOf !== undefined;
}

/** The property every variant fixes to a distinct constant, if there is one. */
function discriminatorOf(variants: JsonSchema[]): string | undefined {
  if (variants.length < 2 || !variants.every(isObject)) return undefined;
  const first = variants[0]!.properties ?? {};
  return Object.keys(first).find((key) => {
    const values = variants.map((v) => v.properties?.[key]?.const);
    return values.every((c) => c !== undefined) && new Set(values.map((c) => JSON.stringify(c))).size === values.length;
  });
}

function typeOf(node: JsonSchema): string {
  if (node.const !== undefined) return literal(node.const);
  if (node.enum) return node.enum.map(literal).join(' \\| ');
  const variants = node.oneOf ?? node.anyOf;
  if (variants) return [...new Set(variants.map(typeOf))].join(' \\| ');
  if (typeof node.type === 'string' && node.type.startsWith('see ')) return node.type;
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  if (types.length === 0) return 'any';
  return types
    .map((t) => {
      if (t === 'array') return `${node.items ? typeOf(node.items) : 'any'}[]`;
      if (t === 'object' && typeof node.additionalProperties === 'object' && !node.properties) return 'map';
      return t;
    })
    .join(' \\| ');
}

function defaultOf(node: JsonSchema, required: boolean): string {
  if (node.default === undefined) return required ? 'required' : '—';
  const d = node.default;
  if (d !== null && typeof d === 'object' && !Array.isArray(d) && Object.keys(d).length > 0) {
    // A long object default usually restates its fields' own defaults; say so when that is exactly true.
    if (canonical(d) === canonical(fieldDefaults(node))) return "its fields' defaults";
  }
  return code(JSON.stringify(d));
}

function fieldDefaults(node: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.default !== undefined) out[key] = child.default;
  }
  return out;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function constraintsOf(node: JsonSchema): string[] {
  const out: string[] = [];
  const num = (key: string) => {
    const v = node[key];
    return typeof v === 'number' && Math.abs(v) !== SAFE_BOUND ? v : undefined;
  };
  const bound = (key: string, sign: string) => {
    const v = num(key);
    if (v !== undefined) out.push(`${sign} ${v}`);
  };
  bound('exclusiveMinimum', '>');
  bound('minimum', '≥');
  bound('exclusiveMaximum', '<');
  bound('maximum', '≤');
  const range = (min: string, max: string, what: string) => {
    const lo = num(min);
    const hi = num(max);
    if (lo !== undefined && hi !== undefined) out.push(`${what} ${lo}–${hi}`);
    else if (lo !== undefined) out.push(`${what} ≥ ${lo}`);
    else if (hi !== undefined) out.push(`${what} ≤ ${hi}`);
  };
  range('minLength', 'maxLength', 'length');
  range('minItems', 'maxItems', 'items');
  if (typeof node.format === 'string') out.push(`format ${node.format}`);
  if (typeof node.pattern === 'string') out.push(`pattern ${code(node.pattern)}`);
  const keyPattern = node.propertyNames?.pattern;
  if (typeof keyPattern === 'string') out.push(`keys match ${code(keyPattern)}`);
  if (node.additionalProperties === false) out.push('no other keys');
  return out;
}

function literal(value: unknown): string {
  return code(typeof value === 'string' ? `'${value}'` : JSON.stringify(value));
}

/** Inline code that survives a table cell: pipes escaped, never an empty span. */
function code(text: string): string {
  const escaped = text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const fence = escaped.includes('`') ? '``' : '`';
  const pad = fence === '``' ? ' ' : '';
  return `${fence}${pad}${escaped}${pad}${fence}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function joinText(a: string, b: string | undefined): string {
  return b ? `${a}; ${b}` : a;
}

function omit<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}
