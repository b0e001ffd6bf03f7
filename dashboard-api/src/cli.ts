#!/usr/bin/env node
import { openStore, parseStoreSpec, storeSpecHelp, type ParsedStoreConfig, type TelemetryStore } from '@poste/telemetry-store';
import { createDashboardApi } from './app';
import {
  checkPublicReads,
  cliLogger,
  need,
  optional,
  parsePort,
  readSecretFile,
  stdio,
  untilStopSignal,
  runIfEntryPoint,
  runServeCommand,
  UsageError,
  type ArgValues,
  type Io,
} from '@poste/cli-kit';
import { connectFleetTracker, type ConnectedFleetTracker } from './fleet';
import { loadInventory } from './inventory';
import type { QueryLimitsInput } from './query-limits';
import { queryLimitArgOptions, queryLimitsFromFlags, queryLimitUsage } from './query-limit-flags';

const indent = '\n                        ';

export const USAGE = `poste-dashboard — Poste's operators' HTTP API and web page

Usage:
  poste-dashboard serve --store SPEC --inventory FILE --mqtt-url URL [options]
      Serves the API, /openapi.json, /metrics and the web page. Energy comes from the store;
      fleet counts from the retained state topics of the broker at --mqtt-url (poste-broker,
      poste-cloud or any MQTT 3.1.1/5 broker).

Options:
  --store SPEC          telemetry store, one of:${indent}${storeSpecHelp().join(indent)}
  --inventory FILE      municipalities, tariffs, gateway map (JSON, see dashboard-api/README.md)
  --mqtt-url URL        broker for the fleet link, e.g. mqtt://127.0.0.1:1883 or mqtts://…
  --username U          the broker's service user for the dashboard (poste-broker add-service)
  --password-file F     file whose first line is that user's password (needs --username)
  --port N              HTTP port (default 8080; 0 = any free port)
  --host ADDR           listen address (default 127.0.0.1)
  --public-reads        allow a non-loopback --host: the API has no authentication yet, so
                        anyone who reaches it reads the fleet and energy figures
  -h, --help            this text

Query limits (bound what reads can take from the store; see dashboard-api/README.md):
${queryLimitUsage(28)}

Environment: POSTE_LOG_LEVEL = fatal|error|warn|info|debug|trace|silent (default info).
Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 runtime failure (unreadable inventory or
password file, store or broker unreachable, port in use), 2 usage error.
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
  mqttUrl: string;
  username?: string;
  passwordFile?: string;
  port: number;
  host: string;
  limits: QueryLimitsInput;
}

function parseServeArgs(values: ArgValues): ServeArgs {
  const storeSpec = need(values, 'store');
  let store: ParsedStoreConfig;
  try {
    store = parseStoreSpec(storeSpec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const mqttUrl = need(values, 'mqtt-url');
  let protocol: string;
  try {
    protocol = new URL(mqttUrl).protocol;
  } catch {
    throw new UsageError(`--mqtt-url ${JSON.stringify(mqttUrl)} is not a URL; expected e.g. mqtt://127.0.0.1:1883`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(protocol))
    throw new UsageError(`--mqtt-url must be mqtt://, mqtts://, ws:// or wss://, got ${protocol}//`);
  const username = optional(values, 'username');
  const passwordFile = optional(values, 'password-file');
  if (passwordFile !== undefined && username === undefined) throw new UsageError('--password-file needs --username');
  if (username !== undefined && passwordFile === undefined)
    throw new UsageError('--username needs --password-file (the password never goes on the command line)');
  const host = optional(values, 'host') ?? '127.0.0.1';
  checkPublicReads(host, values['public-reads'] === true);
  return {
    store,
    storeSpec,
    inventoryFile: need(values, 'inventory'),
    mqttUrl,
    ...(username !== undefined ? { username } : {}),
    ...(passwordFile !== undefined ? { passwordFile } : {}),
    port: parsePort('--port', optional(values, 'port'), 8080),
    host,
    limits: queryLimitsFromFlags(values, (m) => new UsageError(m)),
  };
}

async function serve(values: ArgValues, ctx: CliContext): Promise<number> {
  const args = parseServeArgs(values);
  const logger = cliLogger('poste-dashboard', ctx.env.POSTE_LOG_LEVEL, 'info');
  const inventory = await loadInventory(args.inventoryFile);
  const password =
    args.passwordFile !== undefined ? await readSecretFile(args.passwordFile, `the password of ${args.username}`) : undefined;

  let store: TelemetryStore;
  try {
    store = await openStore(args.store);
  } catch (err) {
    throw new Error(
      `cannot open the store ${args.storeSpec}: ${(err as Error).message} — check --store, and that the database is running and reachable`,
    );
  }
  let fleet: ConnectedFleetTracker | undefined;
  try {
    try {
      fleet = await connectFleetTracker({
        url: args.mqttUrl,
        ...(args.username !== undefined ? { username: args.username } : {}),
        ...(password !== undefined ? { password } : {}),
        logger: logger.child({ component: 'fleet' }),
      });
    } catch (err) {
      throw new Error(
        `${(err as Error).message} — check that the broker runs at --mqtt-url, that --username/--password-file name a service user (poste-broker add-service), and that its ACL lets it subscribe to poste/v1/gw/#`,
      );
    }
    const api = await createDashboardApi({ store, inventory, fleet, logger, limits: args.limits });
    let url: string;
    try {
      url = await api.listen({ port: args.port, host: args.host });
    } catch (err) {
      await api.close();
      const e = err as NodeJS.ErrnoException;
      throw new Error(e.code === 'EADDRINUSE' ? `port ${args.port} on ${args.host} is in use; pick another with --port` : e.message);
    }
    ctx.io.out(
      `poste-dashboard serving ${url} (store ${store.kind}, fleet from ${args.mqttUrl}, ${inventory.municipalities.length} municipalities)`,
    );
    const signal = await ctx.untilStopped();
    logger.info({ signal }, 'stopping: HTTP server, fleet link, store');
    await api.close();
    ctx.io.out(`poste-dashboard stopped (${signal})`);
    return 0;
  } finally {
    await fleet?.close();
    await store.close();
  }
}

/** Runs one command; resolves to the exit code (serve resolves once stopped). */
export async function main(argv: string[], partial: Partial<CliContext> = {}): Promise<number> {
  const io = partial.io ?? stdio;
  const ctx: CliContext = { io, env: partial.env ?? process.env, untilStopped: partial.untilStopped ?? (() => untilStopSignal(io)) };
  return runServeCommand(argv, io, {
    name: 'poste-dashboard',
    usage: USAGE,
    options: {
      store: { type: 'string' },
      inventory: { type: 'string' },
      'mqtt-url': { type: 'string' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'public-reads': { type: 'boolean' },
      ...queryLimitArgOptions,
    },
    serve: (values) => serve(values, ctx),
  });
}

runIfEntryPoint(import.meta.url, 'poste-dashboard', main);
