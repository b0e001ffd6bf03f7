import { z } from 'zod';

export const InfluxDB2StoreConfigSchema = z
  .object({
    kind: z.literal('influxdb2').describe('selects this backend'),
    url: z.url().describe('base URL of InfluxDB 2.x, 3.x or Cloud, e.g. http://127.0.0.1:8086'),
    token: z.string().min(1).optional().describe('API token with write and read access to the bucket; exactly one of token or tokenFile'),
    tokenFile: z
      .string()
      .min(1)
      .optional()
      .describe('file whose first line is the token (whitespace trimmed), read by init(); exactly one of token or tokenFile'),
    org: z.string().min(1).describe('organisation that owns the bucket'),
    bucket: z.string().min(1).describe('bucket written to; must exist (init() creates nothing)'),
    database: z
      .string()
      .min(1)
      .optional()
      .describe('database name for InfluxQL reads through /query (the DBRP mapping on 2.x); default: the bucket'),
    writeAttempts: z.number().int().min(1).max(20).default(5).describe('attempts per write on 429/5xx/network errors, the first included'),
    retryInitialDelayMs: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .default(200)
      .describe('delay before the first retry (ms); doubles each attempt, with jitter'),
  })
  // Exactly one source for the token: two would leave the operator guessing which one is used.
  .refine((c) => (c.token === undefined) !== (c.tokenFile === undefined), {
    message: 'give exactly one of token or tokenFile',
    path: ['token'],
  });
export type InfluxDB2StoreConfig = z.infer<typeof InfluxDB2StoreConfigSchema>;
