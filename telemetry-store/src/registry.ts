import { z } from 'zod';
import { EmbeddedStoreConfigSchema } from './embedded/config';
import { EmbeddedStore } from './embedded/store';
import { InfluxDB1StoreConfigSchema } from './influxdb1/config';
import { InfluxDB1Store } from './influxdb1/store';
import { InfluxDB2StoreConfigSchema } from './influxdb2/config';
import { InfluxDB2Store } from './influxdb2/store';
import type { TelemetryStore } from './types';

/**
 * Every store writer, registered in one table (Telegraf style): its config schema and its
 * constructor. Adding a writer = a folder with config.ts, store.ts, README.md, tests + one row here.
 */
export const STORE_WRITERS = {
  embedded: { schema: EmbeddedStoreConfigSchema, create: (c: z.infer<typeof EmbeddedStoreConfigSchema>) => new EmbeddedStore(c) },
  influxdb1: { schema: InfluxDB1StoreConfigSchema, create: (c: z.infer<typeof InfluxDB1StoreConfigSchema>) => new InfluxDB1Store(c) },
  influxdb2: { schema: InfluxDB2StoreConfigSchema, create: (c: z.infer<typeof InfluxDB2StoreConfigSchema>) => new InfluxDB2Store(c) },
} as const;

export type StoreKind = keyof typeof STORE_WRITERS;

export const StoreConfigSchema = z.discriminatedUnion('kind', [
  EmbeddedStoreConfigSchema,
  InfluxDB1StoreConfigSchema,
  InfluxDB2StoreConfigSchema,
]);
export type StoreConfig = z.input<typeof StoreConfigSchema>;

/** Validates the config, builds the store and runs init() (creates the database/tables if missing). */
export async function openStore(config: StoreConfig | unknown): Promise<TelemetryStore> {
  const c = StoreConfigSchema.parse(config);
  let store: TelemetryStore;
  switch (c.kind) {
    case 'embedded':
      store = STORE_WRITERS.embedded.create(c);
      break;
    case 'influxdb1':
      store = STORE_WRITERS.influxdb1.create(c);
      break;
    case 'influxdb2':
      store = STORE_WRITERS.influxdb2.create(c);
      break;
  }
  await store.init();
  return store;
}

/**
 * Parses the CLI shorthand: `embedded:PATH`, `influxdb1:URL/DB` (e.g. influxdb1:http://127.0.0.1:8086/poste).
 */
export function parseStoreSpec(spec: string): StoreConfig {
  const i = spec.indexOf(':');
  const kind = spec.slice(0, i);
  const rest = spec.slice(i + 1);
  if (i < 0 || !rest) throw new Error(`store spec ${JSON.stringify(spec)}: expected embedded:PATH or influxdb1:URL/DB`);
  if (kind === 'embedded') return { kind: 'embedded', path: rest };
  if (kind === 'influxdb1') {
    const u = new URL(rest);
    const database = u.pathname.replace(/^\/+|\/+$/g, '');
    if (!database) throw new Error(`store spec ${JSON.stringify(spec)}: missing /DATABASE after the URL`);
    return { kind: 'influxdb1', url: `${u.protocol}//${u.username ? `${u.username}:${u.password}@` : ''}${u.host}`, database };
  }
  throw new Error(`store spec ${JSON.stringify(spec)}: unknown kind ${JSON.stringify(kind)} (embedded, influxdb1)`);
}
