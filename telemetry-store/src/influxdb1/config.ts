import { z } from 'zod';

export const InfluxDB1StoreConfigSchema = z.object({
  kind: z.literal('influxdb1').describe('selects this backend'),
  url: z.url().describe('base URL, e.g. http://127.0.0.1:8086; user:password@ in the URL when auth is on'),
  database: z.string().min(1).default('poste').describe('database written and read; created by init() if missing'),
});
export type InfluxDB1StoreConfig = z.infer<typeof InfluxDB1StoreConfigSchema>;
