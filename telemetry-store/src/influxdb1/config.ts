import { z } from 'zod';

export const InfluxDB1StoreConfigSchema = z.object({
  kind: z.literal('influxdb1'),
  /** e.g. http://127.0.0.1:8086 (user:password@ in the URL when auth is on) */
  url: z.url(),
  database: z.string().min(1).default('poste'),
});
export type InfluxDB1StoreConfig = z.infer<typeof InfluxDB1StoreConfigSchema>;
