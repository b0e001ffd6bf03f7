#!/usr/bin/env node
// poste-cloud: broker + ingest + dashboard API in one process on one store, the small-municipality
// deployment. Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage error.
import { resolve } from 'node:path';
import { loadInventory, queryLimitArgOptions, queryLimitsFromFlags, queryLimitUsage, type QueryLimitsInput } from '@poste/dashboard-api';
import { openStore, parseStoreSpec, storeSpecHelp, type ParsedStoreConfig, type TelemetryStore } from '@poste/telemetry-store';
import {
  checkPublicReads,
  cliLogger,
  need,
  optional,
  parsePort,
  stdio,
  untilStopSignal,
  runIfEntryPoint,
  runServeCommand,
  UsageError,
  type ArgValues,
  type Io,
} from '@poste/cli-kit';
import { parseClusterOptions, redactedUrl, type ParsedClusterOptions } from '@poste/broker';
import { startCloud, type Cloud } from './cloud';
import { DEFAULT_SERVICE_USER } from './service-credential';

const indent = '\n                        ';

export const USAGE = `poste-cloud — Poste's cloud in one process: MQTT broker, ingest and dashboard API on one store

Usage:
  poste-cloud serve --store SPEC --inventory FILE --credentials FILE [options]
      Gateways connect to the broker with their credentials (poste-broker add-gateway); their
      telemetry is written to the store; the dashboard serves fleet and energy figures. Each part
      also runs alone: poste-broker serve, poste-dashboard serve.

Options:
  --store SPEC          telemetry store, one of:${indent}${storeSpecHelp().join(indent)}
  --inventory FILE      municipalities, tariffs, gateway map (JSON, see dashboard-api/README.md)
  --credentials FILE    gateway and service credentials (poste-broker add-gateway / add-service)
  --data DIR            broker state (retained desired configs and states, persistent sessions)
                        and ingest's disk spool; without it both live in memory only
  --redis URL           run the broker as one node of a cluster (redis://HOST:PORT[/DB]): every node
                        given the same Redis shares sessions, subscriptions, queued and retained
                        messages there and fans messages out through it; each node ingests what
                        its own gateways publish (run Redis with appendonly yes)
  --spool-max-bytes N   cap on ingest's spool (default 1073741824); when full, PUBACKs wait
  --mqtt-port N         broker port (default 1883; 0 = any free port)
  --http-port N         dashboard port (default 8080; 0 = any free port)
  --host ADDR           listen address of both (default 127.0.0.1)
  --http-host ADDR      listen address of the dashboard only (default: --host)
  --service-user U      service user of the dashboard's fleet link (default ${DEFAULT_SERVICE_USER}); created
                        in the credentials file when missing; its password is kept beside
                        it, mode 0600 (creds.json → creds.${DEFAULT_SERVICE_USER}.password)
  --accept-unannounced  write readings of devices their gateway never announced (no retained
                        device state); by default they are quarantined (counted, never written)
  --public-reads        aggregate energy and fleet figures (and /metrics) without a token; also
                        needed for a non-loopback dashboard address (TLS in front: dashboard-api/README.md)
                        With --data, the dashboard keeps its tokens there and writes an admin
                        token to DIR/admin-token (mode 0600) on first run.
  -h, --help            this text

Dashboard query limits (reads share the store and this process with ingest; dashboard-api/README.md):
${queryLimitUsage(28)}

Environment: POSTE_LOG_LEVEL = fatal|error|warn|info|debug|trace|silent (default info).
Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 runtime failure (unreadable inventory or
credentials, store unreachable, port in use), 2 usage error.
`;

export interface CliContext {
  io: Io;
  /** the process environment (only POSTE_LOG_LEVEL is read) */
  env: Readonly<Record<string, string | undefined>>;
  /** resolves when the server should stop (default: the first SIGINT/SIGTERM) */
  untilStopped: () => Promise<string>;
}

interface ServeArgs {
  store: ParsedStoreConfig;
  storeSpec: string;
  inventoryFile: string;
  credentialsFile: string;
  mqttPort: number;
  httpPort: number;
  host: string;
  httpHost: string;
  serviceUser: string;
  queryLimits: QueryLimitsInput;
  dataDir?: string;
  spoolMaxBytes?: number;
  cluster?: ParsedClusterOptions;
}

function parseServeArgs(values: ArgValues): ServeArgs {
  const storeSpec = need(values, 'store');
  let store: ParsedStoreConfig;
  try {
    store = parseStoreSpec(storeSpec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const host = optional(values, 'host') ?? '127.0.0.1';
  const httpHost = optional(values, 'http-host') ?? host;
  checkPublicReads(httpHost, values['public-reads'] === true);
  const serviceUser = optional(values, 'service-user') ?? DEFAULT_SERVICE_USER;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(serviceUser))
    throw new UsageError(`--service-user ${JSON.stringify(serviceUser)}: letters, digits, . _ - (at most 64, not starting with . _ -)`);
  return {
    store,
    storeSpec,
    inventoryFile: need(values, 'inventory'),
    credentialsFile: need(values, 'credentials'),
    mqttPort: parsePort('--mqtt-port', optional(values, 'mqtt-port'), 1883),
    httpPort: parsePort('--http-port', optional(values, 'http-port'), 8080),
    host,
    httpHost,
    serviceUser,
    queryLimits: queryLimitsFromFlags(values, (m) => new UsageError(m)),
    ...dataOptions(values),
    ...clusterOption(optional(values, 'redis')),
  };
}

/** --redis URL: the broker is a cluster node on that Redis (validated before anything starts). */
function clusterOption(redisUrl: string | undefined): { cluster?: ParsedClusterOptions } {
  if (redisUrl === undefined) return {};
  try {
    return { cluster: parseClusterOptions({ redisUrl }) };
  } catch (err) {
    throw new UsageError(`--redis: ${(err as Error).message}`);
  }
}

function dataOptions(values: ArgValues): { dataDir?: string; spoolMaxBytes?: number } {
  const dataDir = optional(values, 'data');
  const rawMax = optional(values, 'spool-max-bytes');
  if (rawMax !== undefined && dataDir === undefined) throw new UsageError('--spool-max-bytes needs --data DIR (the spool lives there)');
  if (rawMax === undefined) return dataDir === undefined ? {} : { dataDir: resolve(dataDir) };
  const spoolMaxBytes = Number(rawMax);
  if (!Number.isSafeInteger(spoolMaxBytes) || spoolMaxBytes < 1024 * 1024)
    throw new UsageError(`--spool-max-bytes must be a whole number of bytes ≥ 1048576, got ${JSON.stringify(rawMax)}`);
  return { dataDir: resolve(dataDir!), spoolMaxBytes };
}

async function serve(values: ArgValues, ctx: CliContext): Promise<number> {
  const args = parseServeArgs(values);
  const logger = cliLogger('poste-cloud', ctx.env.POSTE_LOG_LEVEL, 'info');
  const inventory = await loadInventory(args.inventoryFile);
  let store: TelemetryStore;
  try {
    store = await openStore(args.store);
  } catch (err) {
    throw new Error(
      `cannot open the store ${args.storeSpec}: ${(err as Error).message} — check --store, and that the database is running and reachable`,
    );
  }
  try {
    let cloud: Cloud;
    try {
      cloud = await startCloud({
        store,
        inventory,
        credentialsFile: args.credentialsFile,
        host: args.host,
        httpHost: args.httpHost,
        mqttPort: args.mqttPort,
        httpPort: args.httpPort,
        service: { username: args.serviceUser },
        queryLimits: args.queryLimits,
        publicReads: values['public-reads'] === true,
        ...(values['accept-unannounced'] === true ? { ingest: { fleet: { requireAnnouncement: false } } } : {}),
        ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}),
        ...(args.spoolMaxBytes !== undefined ? { spoolMaxBytes: args.spoolMaxBytes } : {}),
        ...(args.cluster !== undefined ? { cluster: args.cluster } : {}),
        logger,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(
        e.code === 'EADDRINUSE' ? `${e.message}: another program uses that port; pick others with --mqtt-port / --http-port` : e.message,
      );
    }
    const created =
      cloud.service.provisioned?.outcome === 'created'
        ? ` (service user ${cloud.service.username} created, password in ${cloud.service.provisioned.passwordFile})`
        : '';
    ctx.io.out(
      [
        `poste-cloud running — ${cloud.credentials.data.gateways.length} gateways in ${args.credentialsFile}, ${inventory.municipalities.length} municipalities`,
        `  dashboard  ${cloud.dashboardUrl}`,
        `  mqtt       ${cloud.mqttUrl}${args.cluster ? ` (cluster node ${cloud.broker.aedes.id} on ${redactedUrl(args.cluster.redisUrl)})` : ''}`,
        `  store      ${store.kind} (${args.storeSpec})`,
        `  fleet link as ${cloud.service.username}${created}`,
        cloud.adminToken
          ? `  admin token ${cloud.adminToken.created ? 'created in' : 'in'} ${cloud.adminToken.file}`
          : '  no --data: API tokens live in memory, no admin token (only --public-reads figures are reachable)',
      ].join('\n'),
    );
    const signal = await ctx.untilStopped();
    logger.info({ signal }, 'stopping: dashboard, fleet link, ingest (writing what it holds), broker, store');
    await cloud.stop();
    ctx.io.out(`poste-cloud stopped (${signal})`);
    return 0;
  } finally {
    await store.close();
  }
}

/** Runs one command; resolves to the exit code (serve resolves once stopped). */
export async function main(argv: string[], partial: Partial<CliContext> = {}): Promise<number> {
  const io = partial.io ?? stdio;
  const ctx: CliContext = { io, env: partial.env ?? process.env, untilStopped: partial.untilStopped ?? (() => untilStopSignal(io)) };
  return runServeCommand(argv, io, {
    name: 'poste-cloud',
    usage: USAGE,
    options: {
      store: { type: 'string' },
      inventory: { type: 'string' },
      credentials: { type: 'string' },
      data: { type: 'string' },
      'spool-max-bytes': { type: 'string' },
      redis: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      host: { type: 'string' },
      'http-host': { type: 'string' },
      'service-user': { type: 'string' },
      'public-reads': { type: 'boolean' },
      'accept-unannounced': { type: 'boolean' },
      ...queryLimitArgOptions,
    },
    serve: (values) => serve(values, ctx),
  });
}

runIfEntryPoint(import.meta.url, 'poste-cloud', main);
