import { z } from 'zod';
import type { StoreBackend, StoreConfigObjectSchema } from './backend';
import { embedded } from './embedded/index';
import { StoreSpecError } from './errors';
import { influxdb1 } from './influxdb1/index';
import { influxdb2 } from './influxdb2/index';
import { memory } from './memory/index';
import type { TelemetryStore } from './types';

/**
 * Every backend, in one table. The config union, openStore and the `--store` spec parser are all
 * derived from it: adding a backend = a folder exporting a descriptor (index.ts, config.ts, store,
 * README.md, a test calling describeStoreContract) + one entry here.
 */
export const STORE_BACKENDS = [embedded, influxdb1, influxdb2, memory] as const;

export type StoreKind = (typeof STORE_BACKENDS)[number]['kind'];

type ConfigSchemas<T extends readonly { configSchema: StoreConfigObjectSchema }[]> = { -readonly [K in keyof T]: T[K]['configSchema'] };

/** Any backend's config, discriminated by `kind`. */
export const StoreConfigSchema = z.discriminatedUnion(
  'kind',
  // The map keeps the table's order; the cast only restores the tuple type that .map loses.
  STORE_BACKENDS.map((b) => b.configSchema) as ConfigSchemas<typeof STORE_BACKENDS>,
);
/** A config as callers write it (defaults may be left out). */
export type StoreConfig = z.input<typeof StoreConfigSchema>;
/** A validated config, defaults filled in. */
export type ParsedStoreConfig = z.output<typeof StoreConfigSchema>;

const BY_KIND: ReadonlyMap<string, StoreBackend> = new Map(STORE_BACKENDS.map((b): [string, StoreBackend] => [b.kind, b]));

/** The kinds known, in table order. */
export function storeKinds(): StoreKind[] {
  return STORE_BACKENDS.map((b) => b.kind);
}

/** The descriptor of a kind, or undefined. */
export function storeBackend(kind: string): StoreBackend | undefined {
  return BY_KIND.get(kind);
}

/** Validates a config; the error names each bad field (`influxdb2.org: …`) and the reason. */
export function parseStoreConfig(config: unknown): ParsedStoreConfig {
  const r = StoreConfigSchema.safeParse(config);
  if (r.success) return r.data;
  const kind = typeof config === 'object' && config !== null && 'kind' in config ? String(config.kind) : 'store';
  const issues = r.error.issues.map((i) => `${[kind, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new Error(`invalid store config: ${issues.join('; ')}`, { cause: r.error });
}

/** Validates the config, builds the store and runs init() (creates the database/tables if missing). */
export async function openStore(config: StoreConfig | unknown): Promise<TelemetryStore> {
  const c = parseStoreConfig(config);
  // parseStoreConfig accepted the kind, so its backend is in the table.
  const store = BY_KIND.get(c.kind)!.create(c);
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

/**
 * Parses the CLI shorthand `KIND:REST` (see storeSpecHelp()) into a validated config. Every error
 * names the spec and the syntax expected.
 */
export function parseStoreSpec(spec: string): ParsedStoreConfig {
  const i = spec.indexOf(':');
  const kinds = storeKinds().join(', ');
  if (i <= 0) throw new Error(`store spec ${JSON.stringify(spec)}: expected KIND:…, one of ${storeSpecHelp().join(' | ')}`);
  const kind = spec.slice(0, i);
  const backend = BY_KIND.get(kind);
  if (!backend) throw new Error(`store spec ${JSON.stringify(spec)}: unknown kind ${JSON.stringify(kind)} (known: ${kinds})`);
  const fail = (reason: string, cause?: unknown): never => {
    throw new Error(`store spec ${JSON.stringify(spec)}: ${reason}; expected ${backend.specHelp}`, { cause });
  };
  let raw: unknown;
  try {
    raw = backend.parseSpec(spec.slice(i + 1));
  } catch (err) {
    if (err instanceof StoreSpecError) fail(err.message, err);
    throw err;
  }
  const r = backend.configSchema.safeParse(raw);
  if (!r.success) return fail(r.error.issues.map((x) => `${x.path.map(String).join('.') || 'config'}: ${x.message}`).join('; '), r.error);
  return r.data as ParsedStoreConfig;
}

/** One line per backend, for CLI help: `embedded:PATH`, `influxdb1:URL/DB`, … */
export function storeSpecHelp(): string[] {
  return STORE_BACKENDS.map((b) => b.specHelp);
}
