import { z } from 'zod';

export const MemoryStoreConfigSchema = z.object({
  kind: z.literal('memory').describe('selects this backend'),
  // Without a name every store is private and starts empty; stores opened with the same name in
  // one process share their points (like two handles on one file) until the process exits.
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1 to 64)')
    .optional()
    .describe('stores opened with the same name in one process share their points; without one, private and empty'),
  maxPoints: z
    .number()
    .int()
    .min(1)
    .max(100_000_000)
    .default(1_000_000)
    .describe('upper bound on stored points; a write that would exceed it is refused (not retryable); overwrites do not count'),
});
export type MemoryStoreConfig = z.infer<typeof MemoryStoreConfigSchema>;
