import type { z } from 'zod';
import type { TelemetryStore } from './types';

/** A backend's config schema: a zod object whose `kind` literal discriminates the config union. */
export type StoreConfigObjectSchema = z.ZodObject<{ kind: z.ZodLiteral<string> } & z.core.$ZodShape>;

/**
 * Everything the registry needs to know about one backend. Each backend folder exports exactly one
 * of these from its index.ts; the config union, openStore and the `--store` spec parser are all
 * derived from the list of descriptors in registry.ts.
 */
export interface StoreBackend<Schema extends StoreConfigObjectSchema = StoreConfigObjectSchema> {
  /** the `kind` of its configs and the prefix of its specs (`kind:…`) */
  readonly kind: z.output<Schema>['kind'];
  /** validates a config object; `kind` is a literal so the union can discriminate on it */
  readonly configSchema: Schema;
  /** one line for CLI help, e.g. `influxdb1:URL/DB` */
  readonly specHelp: string;
  /**
   * Turns the part of a spec after `kind:` into a config (validated afterwards by configSchema).
   * Throws StoreSpecError naming what is wrong; the registry adds the whole spec and specHelp.
   */
  parseSpec(rest: string): z.input<Schema>;
  /** Builds the store from a validated config; the caller runs init(). */
  create(config: z.output<Schema>): TelemetryStore;
}

/** Identity, for inference: `export const embedded = defineStoreBackend({ … })` keeps the schema's type. */
export function defineStoreBackend<Schema extends StoreConfigObjectSchema>(backend: StoreBackend<Schema>): StoreBackend<Schema> {
  return backend;
}
