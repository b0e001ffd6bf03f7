import * as z from 'zod';

/** An adapter instance name: its key in `stats().adapters` and in logs. */
export const AdapterNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, - and _, at most 32, starting with a letter or digit');

/**
 * The start of every adapter config: `kind` (the discriminator of the agent config's `adapters`
 * union) and an optional instance `name`. Adapters `.extend()` it with their own fields and make
 * it `.strict()` so a misspelt key is refused with its path.
 */
export function adapterConfigBase<K extends string>(kind: K) {
  return z.object({
    kind: z.literal(kind).describe('adapter kind; selects the fields of this entry'),
    name: AdapterNameSchema.optional().describe('instance name; default the kind, then kind-2, kind-3… for further instances'),
  });
}
