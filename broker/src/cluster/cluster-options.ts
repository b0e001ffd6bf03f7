import { z } from 'zod';

/**
 * A broker node of a cluster: every node points at the same Redis, which carries the message
 * fan-out between nodes (mqemitter-redis) and the broker state — sessions, subscriptions, queued
 * QoS 1/2 packets, retained messages, wills (aedes-persistence-redis).
 */
export const ClusterOptionsSchema = z
  .object({
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, 'a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0')
      .describe('the Redis every node of the cluster shares'),
    heartbeatIntervalMs: z
      .number()
      .int()
      .min(200)
      .max(600_000)
      .default(5_000)
      .describe(
        "how often a node says it is alive; a node silent for 3 intervals is dead and its clients' wills are published by the others (Aedes' default of 60 s leaves a dead node's gateways 'online' for 4 minutes)",
      ),
    maxSessionDelivery: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1_000)
      .describe('queued packets delivered to a persistent session when it reconnects'),
  })
  .strict();

export type ClusterOptions = z.input<typeof ClusterOptionsSchema>;
export type ParsedClusterOptions = z.output<typeof ClusterOptionsSchema>;

/** Validates cluster options; the error names each path and the reason. */
export function parseClusterOptions(input: unknown): ParsedClusterOptions {
  const parsed = ClusterOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const why = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(options)'}: ${i.message}`).join('; ');
  throw new Error(`invalid cluster options: ${why}`);
}
