import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * Password checks at once: half the cores (at least 1, at most 4). Each scrypt occupies a core;
 * the other half is left to the event loop, which accepts sockets, answers cached logins and
 * moves the gateways' data — on 2 cores, 2 checks at once starved it.
 */
export function defaultConcurrentChecks(cores: number = availableParallelism()): number {
  return Math.min(4, Math.max(1, Math.floor(cores / 2)));
}

const positiveInt = z.number().int().positive();
const ms = z.number().int().positive();

/**
 * Every defence limit of the broker, with its default (documented in broker/README.md, "Limits").
 * All optional: `createBroker({ guard: { connections: { maxPerAddress: 200 } } })` changes one.
 */
export const BrokerGuardConfigSchema = z.object({
  frames: z
    .object({
      /** bytes a client may send before its CONNECT is authenticated (one packet and in total) */
      preAuthBytes: positiveInt.default(8 * 1024),
      /** largest packet (remaining length) after authentication; default: max payload + 64 KiB for topic and header */
      maxPacketBytes: positiveInt.optional(),
      /** a connection not authenticated this long after accept is closed */
      connectDeadlineMs: ms.default(5_000),
    })
    .prefault({}),
  connections: z
    .object({
      /** all connections (TCP + TLS); lowered to stay `fdReserve` below the open-files limit */
      maxConnections: positiveInt.default(10_000),
      maxPerAddress: positiveInt.default(64),
      /** connections accepted and not yet authenticated, in total */
      maxUnauthenticated: positiveInt.default(512),
      /** descriptors kept free for ingest, the store, files and the dashboard (at least a fifth of the limit) */
      fdReserve: positiveInt.default(256),
      /** the open-files limit when it cannot be read from the system (/proc/self/limits) */
      fdLimitFallback: positiveInt.default(1024),
    })
    .prefault({}),
  login: z
    .object({
      maxConcurrentChecks: positiveInt.default(() => defaultConcurrentChecks()),
      maxQueuedChecks: positiveInt.default(32),
      perAddressBurst: positiveInt.default(20),
      perAddressPerSecond: z.number().positive().default(5),
      backoffAfterFailures: positiveInt.default(5),
      backoffBaseMs: ms.default(1_000),
      backoffMaxMs: ms.default(60_000),
      cacheEntries: positiveInt.default(10_000),
      cacheTtlMs: ms.default(15 * 60_000),
      trackedAddresses: positiveInt.default(10_000),
    })
    .prefault({}),
  publish: z
    .object({
      messagesPerSecond: z.number().positive().default(200),
      messagesBurst: positiveInt.default(1_000),
      bytesPerSecond: positiveInt.default(8 * 1024 * 1024),
      /** default: twice the largest payload, so one full batch always fits */
      bytesBurst: positiveInt.optional(),
    })
    .prefault({}),
  retained: z
    .object({
      /** per gateway: its state and one per device */
      maxMessages: positiveInt.default(4_096),
      maxBytes: positiveInt.default(4 * 1024 * 1024),
    })
    .prefault({}),
});
export type BrokerGuardConfig = z.output<typeof BrokerGuardConfigSchema>;
export type BrokerGuardOptions = z.input<typeof BrokerGuardConfigSchema>;

/** Validates guard options; the error names each bad path and why. */
export function parseGuardConfig(input: BrokerGuardOptions | undefined): BrokerGuardConfig {
  const r = BrokerGuardConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    throw new Error(`broker guard options: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
