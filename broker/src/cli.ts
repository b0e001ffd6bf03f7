#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createBroker } from './broker/broker';
import { followCredentialsFile } from './broker/follow-credentials';
import { addGateway, addService, loadCredentials, revokeCredential, rotateCredential, UnknownCredentialError } from './credentials/store';
import { createIngest } from './ingest/ingest';
import { parseClusterOptions, type ParsedClusterOptions } from './cluster/cluster-options';
import { redactedUrl } from './cluster/redis-engines';
import { runIfEntryPoint, stdio, UsageError, type Io } from '@poste/cli-kit';
import { openStore, parseStoreSpec, storeSpecHelp } from '@poste/telemetry-store';

export const USAGE = `poste-broker — Poste's cloud MQTT broker and telemetry ingest

Usage:
  poste-broker add-gateway --credentials FILE --id ID --municipality M
      Adds (or re-keys) a gateway; prints its generated password once.
  poste-broker add-service --credentials FILE --username U
      Adds a service user (dashboard-api, operators' tools); prints its generated password once.
  poste-broker list --credentials FILE
      One line per credential: kind, name, municipality, active|revoked, when rotated/revoked.
  poste-broker rotate --credentials FILE (--id ID | --username U)
      Gives a gateway or service user a new generated password (printed once); the old one is refused
      from then on (a running broker reloads the file). Connected clients stay connected.
  poste-broker revoke --credentials FILE (--id ID | --username U)
      Revokes a gateway or service user: a running broker disconnects it and refuses it from then on.
      The entry stays in the file (the id remains reserved); add-gateway re-enables it with a new password.
  poste-broker serve --credentials FILE --store SPEC [--data DIR] [--redis URL] [--port N] [--host H]
      Runs the broker (auth + ACL) with ingest into the store. SPEC is one of
${storeSpecHelp()
  .map((line) => `        ${line}`)
  .join('\n')}
      e.g. embedded:/var/lib/poste/telemetry.duckdb or influxdb1:http://127.0.0.1:8086/poste.
      --port defaults to 1883, --host to 127.0.0.1.
      --tls-cert FILE --tls-key FILE [--tls-port N]: also listen for MQTT over TLS (PEM files;
      --tls-port defaults to 8883), with the same limits as TCP.
      The credentials file is watched: add-gateway, rotate and revoke apply without a restart;
      an invalid file is refused (logged) and the credentials in force are kept.
      --data DIR keeps the broker state on disk in DIR (journal + snapshot): retained messages
      (desired configs, states), persistent sessions and wills survive a restart or a crash.
      Without it that state lives in memory only and is lost when the broker stops.
      --spool-dir DIR: ingest's disk spool; batches the store cannot take now (down, disk full) are
      fsynced there and acknowledged, then drained to the store in order. Default DATA/spool with
      --data DATA; without either, a store outage holds the PUBACKs instead.
      --spool-max-bytes N caps it (default 1073741824); when full, PUBACKs wait (back-pressure).
      Readings of a device its gateway never announced (no retained device state) are quarantined
      (counted, sampled in DATA/ingest-status.json, never written); --accept-unannounced takes them
      (for feeders of raw telemetry that publish no births).
      --redis URL (redis://HOST:PORT[/DB]): run as one node of a cluster — every node given the same
      Redis shares sessions, subscriptions, queued messages, retained messages and wills there and
      forwards messages through it; each node ingests what its own clients publish. The broker
      state then lives in Redis, not in --data (which still holds the spool). Run Redis with
      appendonly yes so that state survives a Redis restart.

Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 no such gateway or service user (rotate, revoke).
`;

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
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-port': { type: 'string' },
        redis: { type: 'string' },
        'accept-unannounced': { type: 'boolean' },
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
      case 'list': {
        for (const c of (await loadCredentials(need(values, 'credentials'))).list()) {
          const when = [c.rotatedAt ? `rotated ${c.rotatedAt}` : '', c.revokedAt ? `revoked ${c.revokedAt}` : ''].filter(Boolean).join(' ');
          io.out([c.kind, c.name, c.municipality ?? '-', c.revokedAt ? 'revoked' : 'active', when].join('\t').trimEnd());
        }
        return 0;
      }
      case 'rotate':
        io.out(await rotateCredential(need(values, 'credentials'), credentialName(values)));
        return 0;
      case 'revoke': {
        const name = credentialName(values);
        await revokeCredential(need(values, 'credentials'), name);
        io.out(`revoked ${name}`);
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
    return err instanceof UnknownCredentialError ? 3 : 1;
  }
}

/** rotate / revoke: --id for a gateway or --username for a service user, exactly one. */
function credentialName(values: Record<string, string | boolean | undefined>): string {
  const id = typeof values.id === 'string' && values.id !== '' ? values.id : undefined;
  const username = typeof values.username === 'string' && values.username !== '' ? values.username : undefined;
  if ((id === undefined) === (username === undefined)) throw new UsageError('give exactly one of --id ID or --username U');
  return (id ?? username)!;
}

/** --tls-cert/--tls-key (both or neither) and --tls-port (default 8883), read before anything starts. */
function tlsOption(values: Record<string, string | boolean | undefined>): { cert: Buffer; key: Buffer; port: number } | undefined {
  const certFile = typeof values['tls-cert'] === 'string' ? values['tls-cert'] : undefined;
  const keyFile = typeof values['tls-key'] === 'string' ? values['tls-key'] : undefined;
  if (certFile === undefined && keyFile === undefined) {
    if (values['tls-port'] !== undefined) throw new UsageError('--tls-port needs --tls-cert and --tls-key');
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  const portText = typeof values['tls-port'] === 'string' ? values['tls-port'] : '8883';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`bad --tls-port ${portText}`);
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), port };
}

async function serve(values: Record<string, string | boolean | undefined>, io: Io): Promise<number> {
  const portText = typeof values.port === 'string' ? values.port : '1883';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`bad --port ${portText}`);
  let storeConfig: ReturnType<typeof parseStoreSpec>;
  try {
    storeConfig = parseStoreSpec(need(values, 'store'));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const tls = tlsOption(values);
  const cluster = clusterOption(values);
  const credentialsFile = need(values, 'credentials');
  let credentials = await loadCredentials(credentialsFile);
  const logger = pino({ name: 'poste-broker', level: process.env.POSTE_LOG_LEVEL ?? 'info' });
  const store = await openStore(storeConfig);
  const dataDir = typeof values.data === 'string' && values.data !== '' ? values.data : undefined;
  const broker = await createBroker({
    credentials,
    logger,
    ...(cluster ? { cluster } : dataDir ? { persistence: { dir: dataDir } } : {}),
  });
  const spool = spoolOption(values, dataDir);
  // A function, not a snapshot: the directory follows the credentials file as it is reloaded.
  const ingest = createIngest({
    broker,
    store,
    directory: (gw) => credentials.municipalityOf(gw),
    logger: logger.child({ component: 'ingest' }),
    fleet: { requireAnnouncement: values['accept-unannounced'] !== true },
    ...(spool ? { spool } : {}),
    // refusals and quarantined readings (counts, samples) for the operator: this server has no /metrics
    ...(dataDir ? { statusFile: join(dataDir, 'ingest-status.json') } : {}),
  });
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const watch = followCredentialsFile(credentialsFile, broker, logger, (next) => {
    credentials = next;
  });
  const bound = await broker.listen(port, host);
  const tlsBound = tls ? await broker.listenTls({ port: tls.port, host, cert: tls.cert, key: tls.key }) : undefined;
  io.out(
    `poste-broker listening on mqtt://${host}:${bound} (store ${store.kind}, ${credentials.data.gateways.length} gateways, broker state ${cluster ? `in ${redactedUrl(cluster.redisUrl)}, cluster node ${broker.aedes.id}` : (dataDir ?? 'in memory')})`,
  );
  if (tlsBound !== undefined) io.out(`poste-broker listening on mqtts://${host}:${tlsBound}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  watch.close();
  await ingest.close();
  await broker.close();
  await store.close();
  return 0;
}

/** --redis URL: this broker is a cluster node on that Redis (validated before anything starts). */
function clusterOption(values: Record<string, string | boolean | undefined>): ParsedClusterOptions | undefined {
  if (values.redis === undefined) return undefined;
  try {
    return parseClusterOptions({ redisUrl: values.redis });
  } catch (err) {
    throw new UsageError(`--redis: ${(err as Error).message}`);
  }
}

/** Default cap on ingest's spool: a day of a large city's telemetry at the target rates fits. */
const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;

/** --spool-dir (default DATA/spool) and --spool-max-bytes; undefined when there is nowhere to spool. */
function spoolOption(
  values: Record<string, string | boolean | undefined>,
  dataDir: string | undefined,
): { dir: string; maxBytes: number } | undefined {
  const explicit = typeof values['spool-dir'] === 'string' && values['spool-dir'] !== '' ? values['spool-dir'] : undefined;
  const maxText = typeof values['spool-max-bytes'] === 'string' ? values['spool-max-bytes'] : undefined;
  const maxBytes = maxText === undefined ? DEFAULT_SPOOL_MAX_BYTES : Number(maxText);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 64 * 1024)
    throw new UsageError(`bad --spool-max-bytes ${maxText}: a whole number of bytes, at least 65536`);
  const dir = explicit ?? (dataDir ? join(dataDir, 'spool') : undefined);
  if (dir === undefined && maxText !== undefined) throw new UsageError('--spool-max-bytes needs --spool-dir or --data');
  return dir === undefined ? undefined : { dir, maxBytes };
}

runIfEntryPoint(import.meta.url, 'poste-broker', main);
