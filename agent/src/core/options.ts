import * as z from 'zod';
import type { Logger } from 'pino';
import { GatewayIdSchema, TelemetryConfigSchema, type Clock } from '@poste/protocol';
import type { PayloadError } from '@poste/protocol';
import { AdapterConfigListSchema } from '../adapters/registry';
import type { AgentExtension } from '../extensions/types';
import { CURRENT_CONFIG_VERSION } from './settings-migration';
import type { Timers } from './timers';

/** TLS material for the northbound link; files so a JSON config can point at provisioned certs. */
export const NorthTlsSchema = z
  .object({
    caFile: z.string().min(1).optional().describe('PEM file of the CA that signed the broker certificate'),
    certFile: z.string().min(1).optional().describe('PEM client certificate (mutual TLS)'),
    keyFile: z.string().min(1).optional().describe('PEM private key of certFile'),
    rejectUnauthorized: z.boolean().default(true).describe('refuse a broker certificate that does not verify'),
  })
  .strict();

/** Reconnect backoff: delay = random(0, min(maxDelayMs, initialDelayMs * 2^attempt)) ("full jitter"). */
export const ReconnectSchema = z
  .object({
    initialDelayMs: z.number().int().min(1).max(600_000).default(500).describe('ceiling of the first delay; doubles per failed attempt'),
    maxDelayMs: z
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .default(30_000)
      .describe('highest ceiling; each delay is random in [1, ceiling] (full jitter)'),
  })
  .strict();

/** One broker URL of the northbound link. */
export const BrokerUrlSchema = z.string().regex(/^(mqtt|mqtts|tcp|tls|ws|wss):\/\//, 'url: mqtt://, mqtts://, ws:// or wss://');

export const NorthOptionsSchema = z
  .object({
    url: z
      .union([BrokerUrlSchema, z.array(BrokerUrlSchema).min(1).max(32)])
      .describe(
        'cloud broker: mqtt://, mqtts://, ws:// or wss://; or the nodes of a broker cluster as a list — the gateway starts on one (by its id, so a city spreads over the nodes) and moves to another when it cannot connect or loses its connection',
      ),
    username: z.string().min(1).optional().describe('per-gateway credentials'),
    password: z.string().optional().describe('with username'),
    tls: NorthTlsSchema.optional(),
    keepaliveS: z.number().int().min(1).max(3_600).default(30).describe('MQTT keepalive, seconds'),
    connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    reconnect: ReconnectSchema.default({ initialDelayMs: 500, maxDelayMs: 30_000 }).describe('exponential backoff with full jitter'),
  })
  .strict();

const MiB = 1024 * 1024;

/** Store-and-forward (uplink/spools.ts, uplink/delivery.ts): the caps of the two spools and the in-flight window. */
export const SpoolOptionsSchema = z
  .object({
    telemetryMaxBytes: z
      .number()
      .int()
      .min(MiB)
      .max(64 * 1024 * MiB)
      .default(64 * MiB)
      .describe(
        'cap of the telemetry spool (luminaire and AP readings); when full the oldest are dropped, counted and reported upstream (event telemetryDropped)',
      ),
    priorityMaxBytes: z
      .number()
      .int()
      .min(MiB)
      .max(16 * 1024 * MiB)
      .default(16 * MiB)
      .describe(
        'cap of the priority spool (device events, command acks); when full new ones are refused and the device is not acknowledged (it resends)',
      ),
    maxInFlight: z.number().int().min(1).max(1_000).default(4).describe('batches published and awaiting the broker’s PUBACK'),
  })
  .strict();

/** The Prometheus endpoint (core/metrics-server.ts); off unless configured. */
export const MetricsOptionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('interface to listen on; keep it on loopback or a management network'),
    port: z.number().int().min(0).max(65_535).describe('0 = any free port (see agent.metricsPort)'),
  })
  .strict();

/** Version 1's single LAN endpoint; settings-migration.ts turns it into a `poste` adapter. */
export const LocalOptionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).describe('0 = any free port (see agent.localPort)'),
  })
  .strict();

const isClock = (v: unknown): v is Clock => typeof v === 'object' && v !== null && typeof (v as { now?: unknown }).now === 'function';
const isTimers = (v: unknown): v is Timers =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { setTimeout?: unknown }).setTimeout === 'function' &&
  typeof (v as { clearTimeout?: unknown }).clearTimeout === 'function';
const isLogger = (v: unknown): v is Logger => typeof v === 'object' && v !== null && typeof (v as { warn?: unknown }).warn === 'function';
const isExtension = (v: unknown): v is AgentExtension =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { name?: unknown }).name === 'string' &&
  typeof (v as { start?: unknown }).start === 'function';

/** Checks the scheduler section of a desired config; null = acceptable. Supplied by the scheduler. */
export type SchedulerConfigValidator = (raw: unknown) => PayloadError | null;

/** The dimming extension (extensions/dimming): idle until the applied config has a `scheduler` section. */
export const DimmingOptionsSchema = z
  .object({
    enabled: z.boolean().default(true).describe('add the dimming extension (idle until the applied config has a scheduler section)'),
    tickIntervalMs: z.number().int().min(10).max(600_000).default(1_000).describe('whole-installation tick period (timer ms)'),
    leaseMs: z.number().int().min(1_000).max(86_400_000).default(900_000).describe('devices hold a scheduler level this long (clock ms)'),
    refreshBeforeMs: z.number().int().min(0).optional().describe('renew a lease this long before it ends; default leaseMs/3'),
    retryAfterMs: z
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(30_000)
      .describe('resend after a failed or timed-out command (clock ms)'),
    maxInFlight: z.number().int().min(1).max(100_000).default(256).describe('device commands awaiting their ack'),
  })
  .strict();

/** The bandwidth extension (extensions/bandwidth): plans for the gateway's APs from their reported traffic. */
export const BandwidthOptionsSchema = z
  .object({
    enabled: z.boolean().default(true).describe('add the bandwidth extension (acts on APs once they report)'),
    tickIntervalMs: z.number().int().min(10).max(3_600_000).default(10_000).describe('ms between plan computations'),
    householdReserveShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("share of an AP's capacity the household keeps (APs without their own entry)"),
    publicShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.25)
      .describe("share of an AP's capacity ceded to telemedicine + public (APs without their own entry)"),
    aps: z
      .record(
        z.string().max(64),
        z
          .object({
            householdReserveKbps: z.number().min(0).describe('kbit/s the household keeps'),
            publicCapKbps: z.number().min(0).describe('kbit/s ceded to telemedicine + public'),
          })
          .strict(),
      )
      .default({})
      .describe('per AP device id: what its household agreed to'),
    changeTolerance: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe('send a new plan when a rate moved by more than this share of capacity'),
    maxInFlight: z.number().int().min(1).max(10_000).default(16).describe('plans awaiting their ack'),
  })
  .strict();

/** The JSON-serialisable part at CURRENT_CONFIG_VERSION (older versions are migrated first). */
export const AgentFileOptionsSchema = z
  .object({
    configVersion: z
      .literal(CURRENT_CONFIG_VERSION)
      .default(CURRENT_CONFIG_VERSION)
      .describe('settings version; older files (absent = 1) are migrated when read, see Settings versions'),
    gatewayId: GatewayIdSchema.describe('topic-safe id; also the MQTT clientId'),
    north: NorthOptionsSchema.describe('the one MQTT 3.1.1 connection to the cloud broker'),
    adapters: AdapterConfigListSchema.describe('device adapters, one entry per LAN protocol endpoint'),
    telemetry: TelemetryConfigSchema.default({ batchMaxReadings: 500, batchMaxDelayMs: 1_000 }).describe(
      'batching of telemetry and events until a desired config sets it',
    ),
    commandTimeoutMs: z.number().int().min(10).max(600_000).default(5_000).describe('wait for a device ack'),
    dataDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'where the birth seq and the applied config (agent-state.json) and the spools (spool/) persist; without it the spools are in memory and NOT durable (logged at start)',
      ),
    spool: SpoolOptionsSchema.default({ telemetryMaxBytes: 64 * MiB, priorityMaxBytes: 16 * MiB, maxInFlight: 4 }).describe(
      'store-and-forward of everything northbound',
    ),
    metrics: MetricsOptionsSchema.optional().describe('Prometheus text at GET /metrics; off when absent'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino level'),
    dimming: DimmingOptionsSchema.default({
      enabled: true,
      tickIntervalMs: 1_000,
      leaseMs: 900_000,
      retryAfterMs: 30_000,
      maxInFlight: 256,
    }).describe('the dimming extension'),
    bandwidth: BandwidthOptionsSchema.default({
      enabled: true,
      tickIntervalMs: 10_000,
      householdReserveShare: 0.5,
      publicShare: 0.25,
      aps: {},
      changeTolerance: 0.05,
      maxInFlight: 16,
    }).describe('the bandwidth extension'),
  })
  .strict();

/** Everything startAgent accepts: the file options plus injected collaborators. */
export const AgentOptionsSchema = AgentFileOptionsSchema.extend({
  clock: z.custom<Clock>(isClock, 'clock: needs now()').optional(),
  timers: z.custom<Timers>(isTimers, 'timers: needs setTimeout/clearTimeout').optional(),
  logger: z.custom<Logger>(isLogger, 'logger: a pino logger').optional(),
  schedulerConfigValidator: z
    .custom<SchedulerConfigValidator>((v) => typeof v === 'function', 'schedulerConfigValidator: a function')
    .optional(),
  extensions: z
    .array(z.custom<AgentExtension>(isExtension, 'an extension: { name: string, start(host) }'))
    .max(32)
    .optional()
    .describe('started after the core, stopped before it, in this order'),
});

type CurrentAgentOptions = z.input<typeof AgentOptionsSchema>;
/** Version 1 input (`local` instead of `adapters`), still accepted: startAgent migrates it. */
type LegacyAgentOptions = Omit<CurrentAgentOptions, 'adapters' | 'configVersion'> & {
  configVersion?: 1;
  local: z.input<typeof LocalOptionsSchema>;
};
type AdapterInput = CurrentAgentOptions['adapters'][number];
/** Version 2 adapters: a `poste` entry without `auth` (migrated to open, as version 2 behaved). */
type Version2AdapterInput = AdapterInput extends infer A
  ? A extends { kind: 'poste'; auth: infer Auth }
    ? Omit<A, 'auth'> & { auth?: Auth }
    : A
  : never;
/** Version 2 input (absent configVersion reads as 1, whose step leaves `adapters` as they are). */
type Version2AgentOptions = Omit<CurrentAgentOptions, 'adapters' | 'configVersion'> & {
  configVersion?: 1 | 2;
  adapters: Version2AdapterInput[];
};

export type AgentOptions = CurrentAgentOptions | LegacyAgentOptions | Version2AgentOptions;
export type ResolvedAgentOptions = z.output<typeof AgentOptionsSchema>;
export type AgentFileOptions = z.input<typeof AgentFileOptionsSchema>;
export type DimmingOptionsInput = z.input<typeof DimmingOptionsSchema>;
