import { defineStoreBackend } from '../backend';
import { StoreSpecError } from '../errors';
import { MemoryStoreConfigSchema } from './config';
import { MemoryStore } from './store';

export { MemoryStoreConfigSchema, type MemoryStoreConfig } from './config';
export { MemoryStore } from './store';

/** `memory:` (private, empty) or `memory:NAME` (shared by every store of that name in the process). */
export const memory = defineStoreBackend({
  kind: 'memory',
  configSchema: MemoryStoreConfigSchema,
  specHelp: 'memory:[NAME]',
  parseSpec(rest) {
    if (rest === '') return { kind: 'memory' as const };
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(rest))
      throw new StoreSpecError(`NAME ${JSON.stringify(rest)} must be 1 to 64 letters, digits, _ . -`);
    return { kind: 'memory' as const, name: rest };
  },
  create: (config) => new MemoryStore(config),
});
