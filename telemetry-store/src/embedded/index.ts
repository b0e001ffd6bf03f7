import { defineStoreBackend } from '../backend';
import { StoreSpecError } from '../errors';
import { EmbeddedStoreConfigSchema } from './config';
import { EmbeddedStore } from './store';

export { EmbeddedStoreConfigSchema, type EmbeddedStoreConfig } from './config';
export { EmbeddedStore } from './store';

/** `embedded:PATH` — a DuckDB file (`embedded::memory:` for a throwaway one). */
export const embedded = defineStoreBackend({
  kind: 'embedded',
  configSchema: EmbeddedStoreConfigSchema,
  specHelp: 'embedded:PATH',
  parseSpec(rest) {
    if (rest === '') throw new StoreSpecError('missing PATH of the DuckDB file');
    return { kind: 'embedded' as const, path: rest };
  },
  create: (config) => new EmbeddedStore(config),
});
