import { z } from 'zod';

export const InfluxDB2StoreConfigSchema = z.object({
  kind: z.literal('influxdb2'),
  /** e.g. http://127.0.0.1:8086 — InfluxDB 2.x, 3.x or Cloud */
  url: z.url(),
  token: z.string().min(1),
  org: z.string().min(1),
  bucket: z.string().min(1),
  /** database name for InfluxQL reads through /query (a DBRP mapping on 2.x); defaults to bucket */
  database: z.string().min(1).optional(),
  /** write retries on 429/5xx/network errors, the first attempt included */
  writeAttempts: z.number().int().min(1).max(20).default(5),
  retryInitialDelayMs: z.number().int().min(1).default(200),
});
export type InfluxDB2StoreConfig = z.infer<typeof InfluxDB2StoreConfigSchema>;
