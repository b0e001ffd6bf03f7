import { z } from 'zod';

export const EmbeddedStoreConfigSchema = z.object({
  kind: z.literal('embedded'),
  /** DuckDB database file, e.g. $POSTE_DATA/telemetry.duckdb; ':memory:' for a throwaway store. */
  path: z.string().min(1),
});
export type EmbeddedStoreConfig = z.infer<typeof EmbeddedStoreConfigSchema>;
