import { z } from 'zod';

export const EmbeddedStoreConfigSchema = z.object({
  kind: z.literal('embedded').describe('selects this backend'),
  path: z
    .string()
    .min(1)
    .describe(
      "DuckDB database file, e.g. $POSTE_DATA/telemetry.duckdb; its directory is created if missing; ':memory:' for a throwaway store",
    ),
  rawRetentionDays: z
    .number()
    .int()
    .min(1)
    .max(36_500)
    .default(90)
    .describe('raw points older than this many days are deleted (checked hourly); hourly rollups are kept'),
  dayTierUtcOffsetHours: z
    .number()
    .int()
    .min(-12)
    .max(14)
    .default(-3)
    .describe(
      "the daily rollups' days start at midnight of this UTC offset (default −3, Brasília time): a local day or month there reads whole day rows; other zones read their edge hours, exact either way. Changing it rebuilds the daily rollups at the next open",
    ),
});
export type EmbeddedStoreConfig = z.infer<typeof EmbeddedStoreConfigSchema>;
