import {
  createBroker,
  createIngest,
  followCredentialsFile,
  type ClusterOptions,
  loadCredentials,
  type CredentialsStore,
  type Ingest,
  type IngestOptions,
  type PosteBroker,
} from '@poste/broker';
import {
  connectFleetTracker,
  createDashboardApi,
  createTokenStore,
  ensureAdminToken,
  type ConnectedFleetTracker,
  type DashboardApi,
  type Inventory,
  type QueryLimitsInput,
} from '@poste/dashboard-api';
import type { Clock } from '@poste/protocol';
import type { TelemetryStore } from '@poste/telemetry-store';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { inProcessBus } from './rollouts/ota-bus';
import { openRolloutManager, type RolloutManager } from './rollouts/rollout-manager';
import { DEFAULT_SERVICE_USER, ensureServiceCredential, type ServiceCredential } from './service-credential';

export interface CloudOptions {
  /** Opened by the caller, closed by the caller (after stop()). */
  store: TelemetryStore;
  /** Gateway and service credentials (scrypt hashes); read once at start. */
  credentialsFile: string;
  inventory: Inventory;
  /** Address the broker and the dashboard listen on (default 127.0.0.1). */
  host?: string;
  /** Address the dashboard listens on, when it differs from `host` (e.g. broker on 0.0.0.0 for the gateways, dashboard on loopback behind a proxy). */
  httpHost?: string;
  /** 0 (default) = any free port */
  mqttPort?: number;
  /** 0 (default) = any free port */
  httpPort?: number;
  /**
   * The service user the dashboard's fleet link logs in as. With a password it is used as given
   * (the caller keeps it); without one, or when absent, `poste-cloud` by default, and its password
   * is kept beside the credentials file, created there when missing (see ensureServiceCredential).
   */
  service?: { username: string; password?: string };
  /** The dashboard's clock (default: the system clock); the city passes its simulated one. */
  clock?: Clock;
  logger?: Logger;
  /** Level of the default logger (ignored with `logger`); default 'info'. */
  logLevel?: string;
  /** One registry for the whole process, so the dashboard's /metrics shows broker and ingest too (default: a fresh one). */
  metricsRegistry?: Registry;
  /** ingest's batching, and its plausibility: `fleet` (announcements required, caps, inventory), `maxFutureSkewMs` */
  ingest?: Pick<IngestOptions, 'batchSize' | 'flushIntervalMs' | 'backoff' | 'fleet' | 'maxFutureSkewMs'>;
  /**
   * Where the broker keeps its state (retained messages — desired configs, gateway and device
   * states — and persistent sessions, in `broker/`) and ingest its disk spool (`ingest-spool/`:
   * batches the store cannot take now, fsynced and acknowledged, drained in order). Without it the
   * broker state lives in memory and ingest holds PUBACKs while the store is down.
   */
  dataDir?: string;
  /**
   * Runs the broker as one node of a cluster on this Redis (every node given the same): sessions,
   * subscriptions, queued and retained messages live there instead of `dataDir/broker`, and
   * messages fan out between nodes through it. Ingest still writes what this node's gateways
   * publish, with its spool in `dataDir`.
   */
  cluster?: ClusterOptions;
  /** Cap on ingest's spool, bytes (default 1 GiB); when full, PUBACKs wait (back-pressure). */
  spoolMaxBytes?: number;
  /** The dashboard's bounds on expensive reads (range, series, time-out, concurrency, cache): they share the store and this process with ingest. */
  queryLimits?: QueryLimitsInput;
  /**
   * The dashboard's state (tokens.json, admin-token, faults/commands/households): default `dataDir`.
   * With neither, tokens live in memory and no admin token is made (only public reads, if allowed).
   */
  dashboardDataDir?: string;
  /** aggregate energy and fleet figures without a token (default false) */
  publicReads?: boolean;
}

export interface Cloud {
  readonly broker: PosteBroker;
  readonly ingest: Ingest;
  readonly fleetTracker: ConnectedFleetTracker;
  readonly api: DashboardApi;
  /** staged firmware rollouts (kept in `<dataDir>/rollouts`, in memory without a data dir) */
  readonly rollouts: RolloutManager;
  readonly credentials: CredentialsStore;
  readonly metricsRegistry: Registry;
  /** `mqtt://HOST:PORT` as listened on */
  readonly mqttUrl: string;
  readonly mqttPort: number;
  /** `http://HOST:PORT` as listened on */
  readonly dashboardUrl: string;
  readonly httpPort: number;
  /** The file holding an admin token for the dashboard (mode 0600), and whether this start created it; undefined without a dashboard data dir. */
  readonly adminToken?: { file: string; created: boolean };
  /** The fleet link's service user, and whether it had to be created (undefined when the caller gave the password). */
  readonly service: { username: string; provisioned?: Omit<ServiceCredential, 'password'> };
  /** API, fleet link, ingest (flushing what it holds), then the broker. Leaves the store open. */
  stop(): Promise<void>;
}

/** Default cap on ingest's disk spool: a day of a large city's telemetry fits. */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 * 1024 * 1024;

/** Formats a host for a URL (IPv6 in brackets). */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Where a local client reaches a server listening on `host` (a wildcard address is reached on loopback). */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** The fleet link's login: the caller's, or the kept (created when missing) service credential. */
async function serviceLogin(opts: CloudOptions, logger: Logger): Promise<{ service: Cloud['service']; password: string }> {
  if (opts.service?.password !== undefined) return { service: { username: opts.service.username }, password: opts.service.password };
  const { password, ...provisioned } = await ensureServiceCredential(opts.credentialsFile, opts.service?.username ?? DEFAULT_SERVICE_USER);
  const { username, passwordFile, outcome } = provisioned;
  if (outcome === 'created') {
    logger.info(
      { user: username, passwordFile },
      `created service user ${username} for the dashboard's fleet link; its password is in ${passwordFile} (mode 0600)`,
    );
  } else if (outcome === 'rekeyed') {
    logger.warn(
      { user: username, passwordFile },
      `service user ${username} had no usable password in ${passwordFile}: gave it a new one; anything else logging in as ${username} needs the new password (or give the dashboard a user of its own with --service-user)`,
    );
  }
  return { service: { username, provisioned }, password };
}

/**
 * The small-municipality deployment in one process: the broker (auth, ACL), ingest into the
 * store, and the dashboard API whose fleet tracker follows the broker over loopback as a service
 * user. On a failure while starting, whatever already started is stopped again before rethrowing.
 */
export async function startCloud(opts: CloudOptions): Promise<Cloud> {
  const logger = opts.logger ?? pino({ name: 'poste-cloud', level: opts.logLevel ?? 'info' });
  const host = opts.host ?? '127.0.0.1';

  let service: Cloud['service'];
  let password: string;
  let credentials: CredentialsStore;
  try {
    ({ service, password } = await serviceLogin(opts, logger));
    credentials = await loadCredentials(opts.credentialsFile);
  } catch (err) {
    throw new Error(`credentials ${opts.credentialsFile}: ${(err as Error).message}`, { cause: err });
  }
  if (credentials.data.gateways.length === 0) {
    logger.warn(
      { credentials: opts.credentialsFile },
      `no gateway in ${opts.credentialsFile} yet: add one with poste-broker add-gateway --credentials ${opts.credentialsFile} --id ID --municipality M`,
    );
  }

  const metricsRegistry = opts.metricsRegistry ?? new Registry();
  const cleanup: Array<() => Promise<void>> = [];
  const unwind = async () => {
    for (const step of cleanup.reverse()) await step().catch((err: unknown) => logger.error({ err }, 'cloud: error while stopping'));
  };
  try {
    const broker = await createBroker({
      credentials,
      registry: metricsRegistry,
      logger: logger.child({ component: 'broker' }),
      ...(opts.cluster ? { cluster: opts.cluster } : opts.dataDir ? { persistence: { dir: join(opts.dataDir, 'broker') } } : {}),
    });
    cleanup.push(() => broker.close());
    // Revoke, rotate and add-gateway apply without a restart; ingest's directory follows too.
    let current = credentials;
    const watch = followCredentialsFile(opts.credentialsFile, broker, logger.child({ component: 'credentials' }), (next) => {
      current = next;
    });
    cleanup.push(async () => watch.close());
    const mqttPort = await broker.listen(opts.mqttPort ?? 0, host);
    const ingest = createIngest({
      broker,
      store: opts.store,
      directory: (gw) => current.municipalityOf(gw),
      // Readings dated after this clock's now (+ skew) are refused: the city's clock is simulated.
      ...(opts.clock ? { clock: opts.clock } : {}),
      logger: logger.child({ component: 'ingest' }),
      ...(opts.dataDir
        ? {
            spool: { dir: join(opts.dataDir, 'ingest-spool'), maxBytes: opts.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES },
            // refusals and quarantined readings with their samples (the counters are on /metrics)
            statusFile: join(opts.dataDir, 'ingest-status.json'),
          }
        : {}),
      ...opts.ingest,
      // A device's readings count only once its gateway announced it (retained device state):
      // otherwise any authenticated gateway could add devices to a municipality's totals.
      fleet: { requireAnnouncement: true, ...opts.ingest?.fleet },
    });
    cleanup.push(() => ingest.close());
    const rollouts = await openRolloutManager({
      bus: inProcessBus(broker),
      log: logger.child({ component: 'rollouts' }),
      ...(opts.dataDir ? { dir: join(opts.dataDir, 'rollouts') } : {}),
    });
    cleanup.push(() => rollouts.close());

    const fleetTracker = await connectFleetTracker({
      url: `mqtt://${urlHost(loopbackFor(host))}:${mqttPort}`,
      username: service.username,
      password,
      // the broker accepts a service's client id only when it starts with its username
      clientId: `${service.username}-fleet-${process.pid}`,
      logger: logger.child({ component: 'fleet' }),
    });
    cleanup.push(() => fleetTracker.close());
    const dashboardDataDir = opts.dashboardDataDir ?? opts.dataDir;
    const tokens = createTokenStore(dashboardDataDir !== undefined ? { file: join(dashboardDataDir, 'tokens.json') } : {});
    const adminToken = dashboardDataDir !== undefined ? await ensureAdminToken(tokens, join(dashboardDataDir, 'admin-token')) : undefined;
    const api = await createDashboardApi({
      store: opts.store,
      inventory: opts.inventory,
      fleet: fleetTracker,
      tokens,
      publicReads: opts.publicReads ?? false,
      ...(dashboardDataDir !== undefined ? { dataDir: dashboardDataDir } : {}),
      metricsRegistry,
      logger: logger.child({ component: 'dashboard' }),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.queryLimits ? { limits: opts.queryLimits } : {}),
      rollouts,
    });
    cleanup.push(() => api.close());
    const dashboardUrl = await api.listen({ port: opts.httpPort ?? 0, host: opts.httpHost ?? host });
    const httpPort = Number(new URL(dashboardUrl).port);

    let stopped: Promise<void> | undefined;
    return {
      broker,
      ingest,
      rollouts,
      fleetTracker,
      api,
      credentials,
      metricsRegistry,
      mqttUrl: `mqtt://${urlHost(host)}:${mqttPort}`,
      mqttPort,
      dashboardUrl,
      httpPort,
      service,
      ...(adminToken ? { adminToken } : {}),
      stop: () => (stopped ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
