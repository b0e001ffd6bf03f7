import type { z } from 'zod';
import { DeviceEventSchema, EventBatchEnvelopeSchema, type DeviceEvent } from './events';
import { ApReadingSchema, LuminaireReadingSchema, TelemetryBatchEnvelopeSchema, type ApReading, type LuminaireReading } from './telemetry';

/**
 * Fast paths for the readings (and their batch envelopes) ingest sees tens of thousands of times a second. A fast path answers
 * only "certainly valid, here is what zod returns" or `undefined` ("ask zod"). It is compiled from
 * the zod schema itself (its shape, number bounds, string patterns and lengths, enums), so the schema
 * stays the single definition and the only source of error messages; a construct the compiler does
 * not know (a refine, a transform, a union…) disables the fast path for that schema rather than
 * guessing. reading-fast-path.test.ts checks over generated inputs that whatever a fast path accepts,
 * zod accepts with an equal result, and that the two reading schemas do compile.
 * Why: zod's safeParse costs ~3 µs per reading, a third of the broker's per-message budget.
 */
export type FastPath<T> = (input: unknown) => T | undefined;

class Unsupported extends Error {}

interface CheckDef {
  check?: string;
  format?: string;
  value?: unknown;
  inclusive?: boolean;
  pattern?: RegExp;
  maximum?: number;
  minimum?: number;
}

interface SchemaDef {
  type: string;
  checks?: ReadonlyArray<{ _zod: { def: CheckDef } }>;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: readonly unknown[];
  innerType?: z.ZodType;
  element?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

function checksOf(def: SchemaDef): CheckDef[] {
  return (def.checks ?? []).map((c) => c._zod.def);
}

/**
 * Straight-line JavaScript is generated (as zod's own JIT does) because a generic interpreter pays
 * for megamorphic keyed property access on every field. `consts` carries regexes and enum sets into
 * the generated function; numbers are inlined with JSON.stringify, strings never are.
 */
class CodeGen {
  readonly lines: string[] = [];
  readonly consts: unknown[] = [];
  private n = 0;

  fresh(prefix: string): string {
    return `${prefix}${this.n++}`;
  }

  constant(value: unknown): string {
    this.consts.push(value);
    return `k[${this.consts.length - 1}]`;
  }

  /** Emits checks of the value in `v` that return NO (undefined) on failure; yields the output expression. */
  emit(schema: z.ZodType, v: string): string {
    const def = defOf(schema);
    switch (def.type) {
      case 'number':
        this.number(def, v);
        return v;
      case 'string':
        this.string(def, v);
        return v;
      case 'boolean':
        this.lines.push(`if (typeof ${v} !== 'boolean') return;`);
        return v;
      case 'enum':
        this.lines.push(`if (!${this.constant(new Set(Object.values(def.entries ?? {})))}.has(${v})) return;`);
        return v;
      case 'literal':
        this.lines.push(`if (!${this.constant(new Set(def.values ?? []))}.has(${v})) return;`);
        return v;
      case 'object':
        return this.object(def, v);
      case 'array':
        return this.array(def, v);
      default:
        throw new Unsupported(`schema type ${def.type}`);
    }
  }

  private number(def: SchemaDef, v: string): void {
    const conds = [`typeof ${v} !== 'number'`, `!Number.isFinite(${v})`];
    for (const c of checksOf(def)) {
      if (c.check === 'number_format' && c.format === 'safeint') conds.push(`!Number.isSafeInteger(${v})`);
      else if (c.check === 'greater_than' && typeof c.value === 'number')
        conds.push(`${v} ${c.inclusive ? '<' : '<='} ${literal(c.value)}`);
      else if (c.check === 'less_than' && typeof c.value === 'number') conds.push(`${v} ${c.inclusive ? '>' : '>='} ${literal(c.value)}`);
      else throw new Unsupported(`number check ${c.check}/${c.format}`);
    }
    this.lines.push(`if (${conds.join(' || ')}) return;`);
  }

  private string(def: SchemaDef, v: string): void {
    const conds = [`typeof ${v} !== 'string'`];
    for (const c of checksOf(def)) {
      if (c.check === 'string_format' && c.format === 'regex' && c.pattern instanceof RegExp && !c.pattern.global && !c.pattern.sticky)
        conds.push(`!${this.constant(c.pattern)}.test(${v})`);
      else if (c.check === 'max_length' && typeof c.maximum === 'number') conds.push(`${v}.length > ${literal(c.maximum)}`);
      else if (c.check === 'min_length' && typeof c.minimum === 'number') conds.push(`${v}.length < ${literal(c.minimum)}`);
      else throw new Unsupported(`string check ${c.check}/${c.format}`);
    }
    this.lines.push(`if (${conds.join(' || ')}) return;`);
  }

  private object(def: SchemaDef, v: string): string {
    // A catchall (passthrough/strict) or an object-level refine changes what zod returns: not ours.
    if (def.catchall !== undefined || checksOf(def).length > 0) throw new Unsupported('object with catchall or checks');
    // Plain objects only (what JSON.parse makes), so reading a field never finds an inherited value.
    this.lines.push(`if (typeof ${v} !== 'object' || ${v} === null) return;`);
    const proto = this.fresh('p');
    this.lines.push(`const ${proto} = Object.getPrototypeOf(${v});`, `if (${proto} !== Object.prototype && ${proto} !== null) return;`);
    // Every field is checked first; the output is then built as one object literal of the leading
    // required fields (one allocation with its final shape, not a transition per key), the rest
    // assigned after it in shape order, as zod does.
    const literal: string[] = [];
    const after: string[] = [];
    // Keys present, counted as they are checked: when the input has no other key, it is returned
    // itself (deep-equal to what zod returns) instead of a copy — a copy of a reading allocates an
    // object and a box for each of its doubles, for every reading ingest decodes.
    const count = this.fresh('n');
    const copy = this.fresh('c');
    let required = 0;
    this.lines.push(`let ${count} = 0;`, `let ${copy} = false;`);
    for (const [key, schema] of Object.entries(def.shape ?? {})) {
      if (key in Object.prototype) throw new Unsupported(`field named ${key}`);
      const field = this.fresh('f');
      const name = JSON.stringify(key);
      this.lines.push(`const ${field} = ${v}[${name}];`);
      const d = defOf(schema);
      if (d.type === 'optional') {
        // zod keeps a key that is present with an undefined value, and omits an absent one.
        // The checked value is declared out here: an inner object's own variables live in the block.
        const present = this.fresh('h');
        const checked = this.fresh('c');
        this.lines.push(`let ${present} = false;`, `let ${checked};`);
        this.lines.push(`if (${field} === undefined) ${present} = Object.hasOwn(${v}, ${name}); else {`);
        const value = this.emit(d.innerType as z.ZodType, field);
        // A nested object's output may be a copy (known at run time): then this object is copied too.
        if (value !== field) this.lines.push(`if (${value} !== ${field}) ${copy} = true;`);
        this.lines.push(`${checked} = ${value};`, `${present} = true;`, '}');
        this.lines.push(`if (${present}) ${count}++;`);
        after.push(`if (${present}) OUT[${name}] = ${checked};`);
      } else {
        this.lines.push(`if (${field} === undefined) return;`);
        const value = this.emit(schema, field);
        required++;
        if (value !== field) this.lines.push(`if (${value} !== ${field}) ${copy} = true;`);
        if (after.length === 0) literal.push(`${name}: ${value}`);
        else after.push(`OUT[${name}] = ${value};`);
      }
    }
    const out = this.fresh('o');
    // Plain objects with Object.prototype or null as prototype: for-in sees their own keys only.
    const seen = this.fresh('s');
    this.lines.push(
      `let ${out} = ${v};`,
      `if (!${copy}) { let ${seen} = 0; for (const _ in ${v}) ${seen}++; ${copy} = ${seen} !== ${count} + ${required}; }`,
      `if (${copy}) {`,
      `${out} = {${literal.join(', ')}};`,
    );
    for (const line of after) this.lines.push(line.replace('OUT', out));
    this.lines.push('}');
    return out;
  }

  private array(def: SchemaDef, v: string): string {
    this.lines.push(`if (!Array.isArray(${v})) return;`);
    for (const c of checksOf(def)) {
      if (c.check === 'max_length' && typeof c.maximum === 'number') this.lines.push(`if (${v}.length > ${literal(c.maximum)}) return;`);
      else if (c.check === 'min_length' && typeof c.minimum === 'number')
        this.lines.push(`if (${v}.length < ${literal(c.minimum)}) return;`);
      else throw new Unsupported(`array check ${c.check}`);
    }
    // Only arrays of anything (batch envelopes: the items are decoded one by one afterwards).
    if (def.element === undefined || defOf(def.element).type !== 'unknown') throw new Unsupported('array of a checked element');
    // A copy, as zod returns one (a hole reads as undefined, as it does for zod).
    const out = this.fresh('a');
    this.lines.push(`const ${out} = new Array(${v}.length);`, `for (let i = 0; i < ${v}.length; i++) ${out}[i] = ${v}[i];`);
    return out;
  }
}

function literal(n: number): string {
  if (Number.isNaN(n)) throw new Unsupported('NaN bound');
  return n === Number.POSITIVE_INFINITY ? 'Infinity' : n === Number.NEGATIVE_INFINITY ? '-Infinity' : String(n);
}

/** The fast path for a schema, or null when the schema uses what the compiler does not know. */
export function compileFastPath<T>(schema: z.ZodType<T>): FastPath<T> | null {
  const gen = new CodeGen();
  try {
    const result = gen.emit(schema, 'input');
    const body = `"use strict";\nreturn function fastPath(input) {\n${gen.lines.join('\n')}\nreturn ${result};\n};`;
    // Generated from a zod schema, never from input (see CodeGen above).
    return new Function('k', body)(gen.consts) as FastPath<T>;
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

export const luminaireReadingFastPath = compileFastPath<LuminaireReading>(LuminaireReadingSchema);
export const apReadingFastPath = compileFastPath<ApReading>(ApReadingSchema);
export const deviceEventFastPath = compileFastPath<DeviceEvent>(DeviceEventSchema);
/** The batch envelopes: checked once per message, the items one by one afterwards. */
export const telemetryEnvelopeFastPath = compileFastPath<z.output<typeof TelemetryBatchEnvelopeSchema>>(TelemetryBatchEnvelopeSchema);
export const eventEnvelopeFastPath = compileFastPath<z.output<typeof EventBatchEnvelopeSchema>>(EventBatchEnvelopeSchema);
