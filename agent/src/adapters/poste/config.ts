import * as z from 'zod';
import { adapterConfigBase } from '../config-base';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Who may connect to the LAN broker. `credentials`: every device logs in with its own id and
 * secret from a provisioned file (device-credentials.ts) and is held to the device ACL (lan-policy.ts).
 * `open`: anyone on the LAN may connect, for simulators and bench rigs only; logged loudly.
 */
export const LanAuthSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('credentials'),
      credentialsFile: z
        .string()
        .min(1)
        .describe(
          'JSON file of device ids and secret hashes, provisioned with the gateway (a relative path is read from the config file’s directory)',
        ),
    })
    .strict(),
  z.object({ mode: z.literal('open') }).strict(),
]);

/** Bounds every device lives within, in both modes (memory and CPU of the gateway are shared). */
export const LanLimitsSchema = z
  .object({
    maxPayloadBytes: z
      .number()
      .int()
      .min(256)
      .max(16 * MiB)
      .default(64 * KiB)
      .describe('largest PUBLISH payload; a bigger packet is cut off as its length arrives, before it is buffered'),
    publishPerSecond: z.number().min(0.1).max(100_000).default(50).describe('sustained publishes per second per client'),
    publishBurst: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(200)
      .describe('publishes a client may send at once above the sustained rate'),
    maxWaitMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(30_000)
      .describe(
        'a client over its rate is slowed (nothing more is read from it while its packet waits) up to this long; beyond, it is disconnected',
      ),
    maxConnections: z.number().int().min(1).max(100_000).default(10_000).describe('connections at once; more are closed on accept'),
    maxRetainedBytes: z
      .number()
      .int()
      .min(64 * KiB)
      .max(1_024 * MiB)
      .default(16 * MiB)
      .describe('all retained messages together (births); a retained publish beyond it is refused'),
    connectTimeoutMs: z.number().int().min(500).max(120_000).default(5_000).describe('a connection must send its CONNECT within this'),
  })
  .strict();

/** `{"kind": "poste", "host": "127.0.0.1", "port": 1884, "auth": {...}}`: where the embedded LAN broker listens and who may use it. */
export const PosteAdapterConfigSchema = adapterConfigBase('poste')
  .extend({
    host: z.string().min(1).default('127.0.0.1').describe('interface to listen on (the LAN side of the gateway)'),
    port: z.number().int().min(0).max(65_535).describe('0 = any free port (see agent.localPort / agent.adapterPorts())'),
    auth: LanAuthSchema.describe('credentials: per-device logins and the device ACL; open: anyone (simulators only, logged loudly)'),
    limits: LanLimitsSchema.default({
      maxPayloadBytes: 64 * KiB,
      publishPerSecond: 50,
      publishBurst: 200,
      maxWaitMs: 30_000,
      maxConnections: 10_000,
      maxRetainedBytes: 16 * MiB,
      connectTimeoutMs: 5_000,
    }).describe('size, rate, connection and retained-message bounds'),
  })
  .strict();

export type PosteAdapterConfig = z.output<typeof PosteAdapterConfigSchema>;
export type LanAuth = z.output<typeof LanAuthSchema>;
export type LanLimits = z.output<typeof LanLimitsSchema>;
