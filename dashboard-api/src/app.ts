import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '@poste/protocol';
import type { TelemetryStore } from '@poste/telemetry-store';
import { registerAccessHook } from './auth/access-hook';
import { createTokenStore, type TokenStore } from './auth/token-store';
import { openCommandBook } from './commands/command-book';
import { startCommandDispatcher } from './commands/dispatcher';
import type { RouteContext } from './context';
import { createEventHub, type EventHub } from './events/event-hub';
import { startFleetFeed } from './events/fleet-feed';
import { openFaultBook } from './faults/fault-book';
import { startApQualityWatch } from './faults/ap-quality';
import { startFaultSources } from './faults/fault-sources';
import { openFinanceBook } from './finance/finance-book';
import { startHouseholdService } from './households/household-service';
import { createFleetTracker, type FleetTracker } from './fleet';
import type { Inventory } from './inventory';
import { createDashboardMetrics } from './metrics';
import type { RouteDoc } from './openapi';
import { type PackBuilderInput, startPackBuilder } from './pack-builder';
import { parseQueryLimits, type QueryLimitsInput } from './query-limits';
import { createReadGate } from './read-gate';
import { commandRouteDocs, registerCommandRoutes } from './routes/commands';
import { energyRouteDoc, registerEnergyRoute } from './routes/energy';
import { energySeriesRouteDoc, registerEnergySeriesRoute } from './routes/energy-series';
import { faultRouteDocs, registerFaultRoutes } from './routes/faults';
import { financeRouteDocs, registerFinanceRoutes } from './routes/finance';
import { fleetRouteDoc, registerFleetRoute } from './routes/fleet';
import { householdRouteDocs, registerHouseholdRoutes } from './routes/households';
import { healthRouteDoc, registerHealthRoute } from './routes/health';
import { metricsRouteDoc, registerMetricsRoute } from './routes/metrics';
import { municipalitiesRouteDoc, registerMunicipalitiesRoute } from './routes/municipalities';
import { openApiRouteDoc, registerOpenApiRoute } from './routes/openapi';
import { registerStreamRoute, streamRouteDoc } from './routes/stream';
import { registerTokenRoutes, tokenRouteDocs } from './routes/tokens';
import { polesRouteDoc, registerPolesRoute } from './routes/poles';
import { registerWebRoute, webRouteDocs } from './routes/web';
import { registerWifiRoutes, wifiRouteDocs } from './routes/wifi';
import { registerRolloutRoutes, rolloutRouteDocs, type RolloutService } from './routes/rollouts';

export const DASHBOARD_API_VERSION = '0.1.0';

export interface DashboardApiOptions {
  store: TelemetryStore;
  inventory: Inventory;
  /** default: an in-process tracker nobody feeds (all counts 0); pass connectFleetTracker(...) for live data */
  fleet?: FleetTracker;
  /** default: the system clock; the energy window defaults to the 24 h before clock.now() */
  clock?: Clock;
  /** a pino logger, or false for none; default: pino at `logLevel` */
  logger?: FastifyBaseLogger | false;
  /** level of the default logger (ignored when `logger` is given); default 'info'. The CLI reads it from POSTE_LOG_LEVEL. */
  logLevel?: string;
  /** default: a fresh registry owned by this API (one API per registry) */
  metricsRegistry?: Registry;
  /** Node process metrics on the registry; default true */
  defaultMetrics?: boolean;
  /** Bounds on expensive reads (range, series, time-out, concurrency, queue, cache); see QueryLimitsSchema. Validated: a bad value throws QueryLimitsError. */
  limits?: QueryLimitsInput;
  /**
   * Where the dashboard keeps its state: `tokens.json` (hashed API tokens, shared with
   * `poste-dashboard token create`) and the faults, commands and households journals. Without it
   * everything lives in memory (tests, embedding) and only `tokens` can let anyone in.
   */
  dataDir?: string;
  /** default: the token file in `dataDir`, or an empty in-memory store */
  tokens?: TokenStore;
  /** aggregate energy and fleet figures (and /metrics) readable without a token; default false */
  publicReads?: boolean;
  /** real ms a command part waits for its ack or reported config before it is `timeout` (default 30,000) */
  commandAckTimeoutMs?: number;
  /** real ms between checks of the free Wi-Fi points against their quality threshold (default 60,000) */
  apQualityIntervalMs?: number;
  /** the background builder of the store's savings packs (PackBuilderSchema; on by default, only on a store that keeps them) */
  packBuilder?: PackBuilderInput;
  /** staged firmware rollouts (given by poste-cloud, which holds the broker); without it /api/v1/rollouts answers 503 */
  rollouts?: RolloutService;
}

export interface DashboardApi {
  app: FastifyInstance;
  tokens: TokenStore;
  /** the live feed behind /api/v1/stream */
  hub: EventHub;
  /** Starts listening; default 127.0.0.1 (loopback, safe) and port 8080. Resolves to the base URL. */
  listen(opts?: { port?: number; host?: string }): Promise<string>;
  /** Stops the HTTP server. Does not close the store or the fleet link: the caller owns those. */
  close(): Promise<void>;
}

export async function createDashboardApi(opts: DashboardApiOptions): Promise<DashboardApi> {
  const limits = parseQueryLimits(opts.limits);
  const fleet = opts.fleet ?? createFleetTracker();
  const registry = opts.metricsRegistry ?? new Registry();
  const logger = opts.logger === false ? undefined : (opts.logger ?? pino({ level: opts.logLevel ?? 'info' }));
  const app = logger ? Fastify({ loggerInstance: logger }) : Fastify({ logger: false });

  const metrics = createDashboardMetrics(registry, fleet, { defaultMetrics: opts.defaultMetrics ?? true });
  const readGate = createReadGate(
    { ...limits, maxRestMs: limits.timeoutMs },
    {
      onStart: () => metrics.readsInFlight.inc(),
      onSettle: () => metrics.readsInFlight.dec(),
      onQueueChange: (n) => metrics.readsQueued.set(n),
      onServed: (how) => metrics.readsServed.inc({ how }),
    },
  );
  const clock = opts.clock ?? systemClock;
  const tokens = opts.tokens ?? createTokenStore(opts.dataDir !== undefined ? { file: join(opts.dataDir, 'tokens.json') } : {});
  const hub = createEventHub();
  const faults = await openFaultBook({
    ...(opts.dataDir !== undefined ? { file: join(opts.dataDir, 'faults.jsonl') } : {}),
    onError: (err) => app.log.error({ err }, 'faults: journal write failed'),
  });
  const commandBook = await openCommandBook({
    ...(opts.dataDir !== undefined ? { file: join(opts.dataDir, 'commands.jsonl') } : {}),
    onError: (err) => app.log.error({ err }, 'commands: journal write failed'),
  });
  const commands = startCommandDispatcher({
    fleet,
    inventory: opts.inventory,
    book: commandBook,
    hub,
    clock,
    logger: app.log,
    ...(opts.commandAckTimeoutMs !== undefined ? { ackTimeoutMs: opts.commandAckTimeoutMs } : {}),
  });
  const households = await startHouseholdService({
    fleet,
    inventory: opts.inventory,
    commands,
    hub,
    clock,
    logger: app.log,
    ...(opts.dataDir !== undefined ? { file: join(opts.dataDir, 'households.jsonl') } : {}),
  });
  const finance = await openFinanceBook(opts.dataDir !== undefined ? join(opts.dataDir, 'finance.json') : undefined);
  const ctx: RouteContext = {
    store: opts.store,
    fleet,
    inventory: opts.inventory,
    clock,
    metrics,
    limits,
    readGate,
    tokens,
    hub,
    faults,
    commandBook,
    commands,
    households,
    finance,
  };

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  app.setNotFoundHandler(async (req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` }));
  app.setErrorHandler(async (err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'unhandled error');
    return reply.code(status).send({ error: status === 500 ? 'internal' : 'bad_request', message: err.message ?? 'error' });
  });

  const docs: RouteDoc[] = [
    healthRouteDoc,
    fleetRouteDoc,
    energyRouteDoc,
    energySeriesRouteDoc,
    municipalitiesRouteDoc,
    metricsRouteDoc,
    ...webRouteDocs,
    streamRouteDoc,
    ...tokenRouteDocs,
    ...faultRouteDocs,
    ...commandRouteDocs,
    ...householdRouteDocs,
    ...financeRouteDocs,
    ...wifiRouteDocs,
    ...rolloutRouteDocs,
    polesRouteDoc,
    openApiRouteDoc,
  ];
  registerAccessHook(app, docs, { tokens, publicReads: opts.publicReads ?? false });
  registerHealthRoute(app, ctx);
  registerFleetRoute(app, ctx);
  registerEnergyRoute(app, ctx);
  registerEnergySeriesRoute(app, ctx);
  registerMunicipalitiesRoute(app, ctx);
  registerMetricsRoute(app, ctx);
  registerWebRoute(app);
  registerStreamRoute(app, ctx);
  registerTokenRoutes(app, ctx);
  registerFaultRoutes(app, ctx);
  registerCommandRoutes(app, ctx);
  registerHouseholdRoutes(app, ctx);
  registerFinanceRoutes(app, ctx);
  registerWifiRoutes(app, ctx);
  registerRolloutRoutes(app, opts.rollouts);
  registerPolesRoute(app, ctx);
  registerOpenApiRoute(app, docs, DASHBOARD_API_VERSION);
  const stopFleetFeed = startFleetFeed(fleet, hub);
  const stopFaultSources = startFaultSources({
    fleet,
    book: faults,
    hub,
    inventory: opts.inventory,
    now: () => clock.now(),
    logger: app.log,
  });
  const stopApQuality = startApQualityWatch({
    store: opts.store,
    inventory: opts.inventory,
    book: faults,
    hub,
    clock,
    logger: app.log,
    ...(opts.apQualityIntervalMs !== undefined ? { intervalMs: opts.apQualityIntervalMs } : {}),
  });
  const packBuilder = startPackBuilder({
    store: opts.store,
    inventory: opts.inventory,
    clock,
    registry,
    logger: app.log,
    ...(opts.packBuilder !== undefined ? { options: opts.packBuilder } : {}),
  });
  app.addHook('onClose', async () => {
    await packBuilder.stop();
    stopApQuality();
    stopFleetFeed();
    stopFaultSources();
    await households.stop();
    commands.stop();
    await Promise.all([faults.flush(), commandBook.flush()]);
  });
  await app.ready();

  return {
    app,
    tokens,
    hub,
    async listen({ port = 8080, host = '127.0.0.1' } = {}) {
      await app.listen({ port, host });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') throw new Error(`dashboard-api: unexpected listen address ${String(addr)}`);
      const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `http://${h}:${addr.port}`;
    },
    close: () => app.close(),
  };
}
