#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createBroker } from './broker/broker';
import { addGateway, addService, loadCredentials } from './credentials/store';
import { createIngest } from './ingest/ingest';
import { openStore, parseStoreSpec, storeSpecHelp } from '@poste/telemetry-store';

export const USAGE = `poste-broker — Poste's cloud MQTT broker and telemetry ingest

Usage:
  poste-broker add-gateway --credentials FILE --id ID --municipality M
      Adds (or re-keys) a gateway; prints its generated password once.
  poste-broker add-service --credentials FILE --username U
      Adds a service user (dashboard-api, operators' tools); prints its generated password once.
  poste-broker serve --credentials FILE --store SPEC [--data DIR] [--port N] [--host H]
      Runs the broker (auth + ACL) with ingest into the store. SPEC is one of
${storeSpecHelp().map((line) => `        ${line}`).join('\n')}
      e.g. embedded:/var/lib/poste/telemetry.duckdb or influxdb1:http://127.0.0.1:8086/poste.
      --port defaults to 1883, --host to 127.0.0.1.
      --data DIR keeps the broker state on disk in DIR (journal + snapshot): retained messages
      (desired configs, states), persistent sessions and wills survive a restart or a crash.
      Without it that state lives in memory only and is lost when the broker stops.
      --spool-dir DIR: ingest's disk spool; batches the store cannot take now (down, disk full) are
      fsynced there and acknowledged, then drained to the store in order. Default DATA/spool with
      --data DATA; without either, a store outage holds the PUBACKs instead.
      --spool-max-bytes N caps it (default 1073741824); when full, PUBACKs wait (back-pressure).

Exit codes: 0 ok, 1 runtime failure, 2 usage error.
`;

class UsageError extends Error {}

interface Io {
  out(line: string): void;
  err(line: string): void;
}
const stdio: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

function need(values: Record<string, string | boolean | undefined>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`missing --${name}`);
  return v;
}

/** Runs one CLI command; resolves to the exit code (serve resolves when stopped by a signal). */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        credentials: { type: 'string' },
        id: { type: 'string' },
        municipality: { type: 'string' },
        username: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        store: { type: 'string' },
        data: { type: 'string' },
        'spool-dir': { type: 'string' },
        'spool-max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    switch (command) {
      case 'add-gateway': {
        const password = await addGateway(need(values, 'credentials'), need(values, 'id'), need(values, 'municipality'));
        io.out(password);
        return 0;
      }
      case 'add-service': {
        io.out(await addService(need(values, 'credentials'), need(values, 'username')));
        return 0;
      }
      case 'serve':
        return await serve(values, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`error: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${(err as Error).message}`);
    return 1;
  }
}

async function serve(values: Record<string, string | boolean | undefined>, io: Io): Promise<number> {
  const portText = typeof values.port === 'string' ? values.port : '1883';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`bad --port ${portText}`);
  let storeConfig;
  try {
    storeConfig = parseStoreSpec(need(values, 'store'));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const credentials = await loadCredentials(need(values, 'credentials'));
  const logger = pino({ name: 'poste-broker', level: process.env.POSTE_LOG_LEVEL ?? 'info' });
  const store = await openStore(storeConfig);
  const dataDir = typeof values.data === 'string' && values.data !== '' ? values.data : undefined;
  const broker = await createBroker({ credentials, logger, ...(dataDir ? { persistence: { dir: dataDir } } : {}) });
  const spool = spoolOption(values, dataDir);
  const ingest = createIngest({ broker, store, directory: credentials.directory(), logger: logger.child({ component: 'ingest' }), ...(spool ? { spool } : {}) });
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const bound = await broker.listen(port, host);
  io.out(
    `poste-broker listening on mqtt://${host}:${bound} (store ${store.kind}, ${credentials.data.gateways.length} gateways, broker state ${dataDir ?? 'in memory'})`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await ingest.close();
  await broker.close();
  await store.close();
  return 0;
}

/** Default cap on ingest's spool: a day of a large city's telemetry at the target rates fits. */
const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;

/** --spool-dir (default DATA/spool) and --spool-max-bytes; undefined when there is nowhere to spool. */
function spoolOption(values: Record<string, string | boolean | undefined>, dataDir: string | undefined): { dir: string; maxBytes: number } | undefined {
  const explicit = typeof values['spool-dir'] === 'string' && values['spool-dir'] !== '' ? values['spool-dir'] : undefined;
  const maxText = typeof values['spool-max-bytes'] === 'string' ? values['spool-max-bytes'] : undefined;
  const maxBytes = maxText === undefined ? DEFAULT_SPOOL_MAX_BYTES : Number(maxText);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 64 * 1024) throw new UsageError(`bad --spool-max-bytes ${maxText}: a whole number of bytes, at least 65536`);
  const dir = explicit ?? (dataDir ? join(dataDir, 'spool') : undefined);
  if (dir === undefined && maxText !== undefined) throw new UsageError('--spool-max-bytes needs --spool-dir or --data');
  return dir === undefined ? undefined : { dir, maxBytes };
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fatal: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
