#!/usr/bin/env node
import { openStore, parseStoreSpec, storeSpecHelp, type ParsedStoreConfig, type TelemetryStore } from '@poste/telemetry-store';
import { join } from 'node:path';
import { createDashboardApi } from './app';
import { ensureAdminToken } from './auth/admin-token';
import { createTokenStore } from './auth/token-store';
import { TOKEN_USAGE, tokenCommand } from './token-cli';
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
  poste-dashboard serve --store SPEC --inventory FILE --mqtt-url URL --data-dir DIR [options]
      Serves the API, /openapi.json, /metrics and the web page. Energy comes from the store;
      fleet counts from the retained state topics of the broker at --mqtt-url (poste-broker,
      poste-cloud or any MQTT 3.1.1/5 broker). On first run writes an admin token to
      DIR/admin-token (mode 0600) and prints that path.
  poste-dashboard token create|list|revoke …   API tokens (poste-dashboard token --help)

Options:
  --store SPEC          telemetry store, one of:${indent}${storeSpecHelp().join(indent)}
  --inventory FILE      municipalities, tariffs, gateway map (JSON, see dashboard-api/README.md)
  --mqtt-url URL        broker for the fleet link, e.g. mqtt://127.0.0.1:1883 or mqtts://…
  --username U          the broker's service user for the dashboard (poste-broker add-service)
  --password-file F     file whose first line is that user's password (needs --username)
  --port N              HTTP port (default 8080; 0 = any free port)
  --host ADDR           listen address (default 127.0.0.1)
  --data-dir DIR        tokens (hashed), admin-token, faults/commands/households state
                        [POSTE_DATA]
  --public-reads        aggregate energy and fleet figures (and /metrics) without a token;
                        also needed for a non-loopback --host (put TLS in front: README)
  -h, --help            this text

Query limits (bound what reads can take from the store; see dashboard-api/README.md):
${queryLimitUsage(28)}

Environment: POSTE_LOG_LEVEL = fatal|error|warn|info|debug|trace|silent (default info).
Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 runtime failure (unreadable inventory or
password file, store or broker unreachable, port in use), 2 usage error.
`;

export interface CliContext {
  io: Io;
  /** the process environment (POSTE_LOG_LEVEL, POSTE_DATA) */
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
  dataDir: string;
  publicReads: boolean;
}

function parseServeArgs(values: ArgValues, env: CliContext['env']): ServeArgs {
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
  const dataDir = optional(values, 'data-dir') ?? env.POSTE_DATA;
  if (dataDir === undefined || dataDir === '') throw new UsageError('missing --data-dir (or POSTE_DATA): where the API tokens are kept');
  return {
    dataDir,
    publicReads: values['public-reads'] === true,
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
  const args = parseServeArgs(values, ctx.env);
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
    const tokens = createTokenStore({ file: join(args.dataDir, 'tokens.json') });
    const admin = await ensureAdminToken(tokens, join(args.dataDir, 'admin-token'));
    const api = await createDashboardApi({
      store,
      inventory,
      fleet,
      logger,
      limits: args.limits,
      dataDir: args.dataDir,
      tokens,
      publicReads: args.publicReads,
    });
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
    ctx.io.out(`admin token ${admin.created ? 'created in' : 'in'} ${admin.file}`);
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
  if (argv[0] === 'token') return tokenCommand(argv.slice(1), io, ctx.env);
  return runServeCommand(argv, io, {
    name: 'poste-dashboard',
    usage: `${USAGE}\n${TOKEN_USAGE}`,
    options: {
      store: { type: 'string' },
      inventory: { type: 'string' },
      'mqtt-url': { type: 'string' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'public-reads': { type: 'boolean' },
      'data-dir': { type: 'string' },
      ...queryLimitArgOptions,
    },
    serve: (values) => serve(values, ctx),
  });
}

runIfEntryPoint(import.meta.url, 'poste-dashboard', main);
