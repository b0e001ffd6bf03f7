import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CredentialsStore, Principal, VerifyResult } from '../credentials/store';
import { posteMetrics, type PosteMetrics } from '../metrics';
import { FilePersistence, type FilePersistenceOptions } from '../persistence/file-persistence';
import { Packet, type StoredPacket } from '../persistence/broker-state';
import { checkClientId } from '../guard/client-id';
import { createBrokerGuard, remoteAddressOf, seedRetainedQuota, type BrokerGuard } from '../guard/broker-guard';
import type { BrokerGuardOptions } from '../guard/guard-config';
import { credentialCacheDigest, LoginCacheFile } from '../guard/login-cache-file';
import { canPublish, canSubscribe } from './acl';
import { countProtocolErrors } from './protocol-errors';
import { parseClusterOptions, type ClusterOptions } from '../cluster/cluster-options';
import { createRedisEngines, type RedisEngines } from '../cluster/redis-engines';

/** Default cap on a PUBLISH payload: a full 5,000-reading batch is ~1.5 MB of JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** MQTT 3.1.1 CONNACK return codes used here (aedes declares them as a const enum). */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export interface BrokerHooks {
  /** Checks a username/password; default: the credentials store, or refuse everyone without one. */
  authenticate?: (username: string | undefined, password: Buffer | undefined) => Promise<VerifyResult>;
  /** default: acl.ts canPublish */
  authorizePublish?: (principal: Principal, topic: string) => boolean;
  /** default: acl.ts canSubscribe */
  authorizeSubscribe?: (principal: Principal, filter: string) => boolean;
}

export interface BrokerOptions {
  /** the credentials to authenticate against; without it (and without hooks.authenticate) every CONNECT is refused */
  credentials?: CredentialsStore;
  hooks?: BrokerHooks;
  /** largest PUBLISH payload accepted, bytes; a bigger one is refused and its client disconnected */
  maxPayloadBytes?: number;
  logger?: Logger;
  /** level of the default logger (ignored when `logger` is given); default 'info'. The CLI reads it from POSTE_LOG_LEVEL. */
  logLevel?: string;
  /** prom-client registry for the counters; default: posteRegistry */
  registry?: Registry;
  /**
   * Keeps retained messages, persistent sessions (clean=false subscriptions, queued QoS 1/2
   * packets), incoming QoS 2 packets and wills on disk in `persistence.dir`, so they survive a
   * restart or a crash (see persistence/README.md). Without it, Aedes keeps them in memory.
   */
  persistence?: FilePersistenceOptions;
  /**
   * Runs this broker as one node of a cluster: the message fan-out between nodes and the broker
   * state (sessions, subscriptions, queued packets, retained messages, wills) live in the shared
   * Redis instead of `persistence` (see cluster/ and the README's cluster section).
   */
  cluster?: ClusterOptions;
  /** the defences' limits (connections, stream guard, logins, publish rate, retained quota); defaults in guard-config.ts */
  guard?: BrokerGuardOptions;
  /** passed through to Aedes (id, concurrency, mq / persistence for a cluster …) */
  aedes?: Omit<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'preConnect'>;
}

/**
 * Runs before a gateway's PUBLISH is acknowledged (after auth, size and ACL checks). Aedes 1.x
 * writes the QoS 1 PUBACK *before* delivering to subscribers — in-process subscribers included —
 * so the only place that can hold the PUBACK until the data is written is authorizePublish.
 * Resolve once the message is durable (written, or dead-lettered when invalid); reject to refuse
 * it: the client is disconnected without a PUBACK and will resend. Return undefined when there is
 * nothing to wait for (the PUBACK goes at once).
 */
export type PublishGate = (packet: PublishPacket, gateway: Extract<Principal, { role: 'gateway' }>) => Promise<void> | undefined;

export interface PosteBroker {
  readonly aedes: Aedes;
  readonly metrics: PosteMetrics;
  readonly logger: Logger;
  /** the durable state store, when `persistence` was given */
  readonly persistence: FilePersistence | undefined;
  /** who an MQTT client authenticated as (undefined before CONNACK or for in-process publishes) */
  principalOf(client: Client | null): Principal | undefined;
  /** Installs (or removes, with undefined) the gate every gateway PUBLISH passes before its PUBACK. */
  setPublishGate(gate: PublishGate | undefined): void;
  /** the defences and their effective limits */
  readonly guard: BrokerGuard;
  /**
   * Puts new credentials in force (the credentials file changed): later logins use them, the
   * login cache is emptied, and connected clients whose credential is now revoked or gone are
   * disconnected. Returns how many were disconnected.
   */
  setCredentials(store: CredentialsStore): number;
  /** Listens on TCP; resolves to the bound port (pass 0 for a free one). Default host 127.0.0.1. */
  listen(port?: number, host?: string): Promise<number>;
  /** Listens for MQTT over TLS (PEM certificate chain and key); same guard as TCP. Resolves to the bound port. */
  listenTls(opts: { port?: number; host?: string; cert: string | Buffer; key: string | Buffer }): Promise<number>;
  /** Stops listening, disconnects clients and closes Aedes. */
  close(): Promise<void>;
}

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Aedes with Poste's authentication, topic ACL, payload limit, logging and counters. */
export async function createBroker(opts: BrokerOptions = {}): Promise<PosteBroker> {
  const logger = opts.logger ?? pino({ name: 'poste-broker', level: opts.logLevel ?? 'info' });
  const metrics = posteMetrics(opts.registry);
  const maxPayload = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  // Replaced by setCredentials when the file changes; read on every login.
  let credentials = opts.credentials;
  const verify =
    opts.hooks?.authenticate ??
    (credentials
      ? (u: string | undefined, p: Buffer | undefined) => credentials!.verify(u, p)
      : async (): Promise<VerifyResult> => ({ ok: false, reason: 'no-credentials' }));
  // With a credentials store the login cache is keyed by each stored hash, and with --data it is
  // kept on disk so that a city's gateways reconnecting after a restart need no scrypt (guard/login-cache-file.ts).
  const byStore = credentials !== undefined && opts.hooks?.authenticate === undefined;
  const loginCacheFile = byStore && opts.persistence ? new LoginCacheFile({ dir: opts.persistence.dir, logger }) : undefined;
  const guard = createBrokerGuard({
    guard: opts.guard,
    maxPayloadBytes: maxPayload,
    verify,
    metrics,
    logger,
    ...(byStore && { loginCache: { digest: credentialCacheDigest(() => credentials), onChange: () => loginCacheFile?.changed() } }),
  });
  /** clients that sent an empty client id (Aedes assigned them one) */
  const assignedIds = new WeakSet<Client>();
  const mayPublish = opts.hooks?.authorizePublish ?? canPublish;
  const maySubscribe = opts.hooks?.authorizeSubscribe ?? canSubscribe;
  const principals = new WeakMap<Client, Principal>();
  let gate: PublishGate | undefined;

  const refuse = (client: Client, username: string | undefined, reason: string) => {
    metrics.authFailures.inc({ reason });
    logger.warn({ clientId: client.id, username, reason, remote: remoteOf(client) }, 'mqtt connect refused');
  };

  const stateStores = [opts.persistence, opts.cluster, opts.aedes?.persistence].filter((x) => x !== undefined).length;
  if (stateStores > 1) throw new Error('createBroker: give one of persistence, cluster or aedes.persistence');
  const persistence = opts.persistence
    ? new FilePersistence({ logger: logger.child({ component: 'persistence' }), ...opts.persistence })
    : undefined;
  const cluster = opts.cluster ? parseClusterOptions(opts.cluster) : undefined;
  const engines: RedisEngines | undefined = cluster ? createRedisEngines(cluster, logger.child({ component: 'cluster' })) : undefined;

  const aedes = await Aedes.createBroker({
    ...opts.aedes,
    ...(persistence ? { persistence } : {}),
    ...(engines && cluster ? { mq: engines.mq, persistence: engines.persistence, heartbeatInterval: cluster.heartbeatIntervalMs } : {}),
    preConnect: (client, packet, done) => {
      if (packet.cmd === 'connect' && !packet.clientId) assignedIds.add(client);
      done(null, true);
    },
    authenticate: (client, username, password, done) => {
      guard.login
        .login(username, password, remoteAddressOf(client), () => client.closed)
        .then(
          (result) => {
            if (!result.ok) {
              refuse(client, username, result.reason);
              // The guard's own refusals say "try later" (3), not "wrong password" (4).
              done(authError(result.reason, result.reason.startsWith('login-') ? SERVER_UNAVAILABLE : BAD_USERNAME_OR_PASSWORD), false);
              return;
            }
            if ('cached' in result && result.cached) metrics.loginCacheHits.inc();
            const p = result.principal;
            const holder = liveClients(aedes)[client.id];
            const idRefusal = checkClientId(p, client.id, {
              assigned: assignedIds.has(client),
              isGatewayId: (id) => credentials?.isGateway(id) ?? false,
              holder: holder && holder !== client ? principals.get(holder) : undefined,
            });
            if (idRefusal) {
              refuse(client, username, idRefusal);
              done(authError(idRefusal, IDENTIFIER_REJECTED), false);
              return;
            }
            principals.set(client, p);
            guard.authenticated(client);
            metrics.authSuccess.inc({ role: p.role });
            logger.info({ clientId: client.id, role: p.role }, 'mqtt client authenticated');
            done(null, true);
          },
          (err: unknown) => {
            refuse(client, username, 'error');
            logger.error({ err }, 'authenticate failed');
            done(authError('server-error', NOT_AUTHORIZED), false);
          },
        );
    },
    authorizePublish: (client, packet: PublishPacket, done) => {
      // Aedes passes no client only for a will left by a broker that is gone (a dead cluster
      // node): its client was authorized when it connected.
      if (!client && engines && isOrphanWill(packet, aedes.id)) return done(null);
      const principal = client ? principals.get(client) : undefined;
      if (!client || !principal) return done(new Error('not authenticated'));
      const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
      if (size > maxPayload) {
        metrics.packetTooLarge.inc();
        logger.warn({ clientId: client.id, topic: packet.topic, size, maxPayload }, 'publish over the size limit');
        return done(new Error('payload too large'));
      }
      if (!mayPublish(principal, packet.topic)) {
        metrics.aclDenied.inc({ action: 'publish', role: principal.role });
        logger.warn({ clientId: client.id, topic: packet.topic }, 'publish denied by ACL');
        // MQTT 3.1.1 has no negative PUBACK: Aedes disconnects the client, which is what we want.
        return done(new Error('publish not authorized'));
      }
      const overLimit = guard.checkPublish(client, principal, packet, size);
      if (overLimit) return done(new Error(overLimit));
      const ingested = gate && principal.role === 'gateway' ? gate(packet, principal) : undefined;
      // Aedes stores a retained message only after the PUBACK: store it here, before it.
      const retained =
        packet.retain && packet.qos > 0
          ? persistence
            ? persistence.storeRetainedBeforeAck(packet)
            : engines?.persistence.storeRetained(
                new Packet(packet as unknown as StoredPacket, aedes as unknown as { id: string; counter: number }),
              )
          : undefined;
      if (!ingested && !retained) return done(null);
      // The common case, telemetry, waits for ingest alone: one promise, no Promise.all.
      const both = ingested && retained ? Promise.all([ingested, retained]) : (ingested ?? retained)!;
      (both as Promise<unknown>).then(
        () => done(null),
        (err: unknown) => {
          logger.warn({ clientId: client.id, topic: packet.topic, err }, 'publish not accepted by ingest or not stored; no PUBACK');
          done(err instanceof Error ? err : new Error(String(err)));
        },
      );
    },
    authorizeSubscribe: (client, sub: Subscription, done) => {
      const principal = principals.get(client);
      if (principal && maySubscribe(principal, sub.topic)) return done(null, sub);
      metrics.aclDenied.inc({ action: 'subscribe', role: principal?.role ?? 'none' });
      logger.warn({ clientId: client.id, filter: sub.topic }, 'subscribe denied by ACL');
      // null = a SUBACK failure code (0x80) for this filter, the client stays connected.
      done(null, null);
    },
  });

  countProtocolErrors(aedes, metrics.registry);

  // Retained messages restored from disk count against their gateways' quotas from the start.
  await seedRetainedQuota(
    guard.retained,
    (
      aedes as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<PublishPacket> } }
    ).persistence.createRetainedStream('poste/v1/gw/#'),
    (topic) => {
      const id = /^poste\/v1\/gw\/([^/]+)\//.exec(topic)?.[1];
      return id === undefined ? undefined : { role: 'gateway', id, municipality: '' };
    },
  );

  const restoredLogins = await loginCacheFile?.attach(guard.login);
  if (restoredLogins) logger.info({ logins: restoredLogins }, 'login cache restored');

  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  /** Admits an accepted socket (caps, stream guard) and hands it to Aedes; `secure` wraps it in TLS first. */
  const accept = (socket: Socket, secure?: (raw: Socket) => Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const conn = guard.accept(socket, secure);
    if (conn) aedes.handle(conn);
  };
  const listenOn = (srv: Server, port: number, host: string, what: string) =>
    new Promise<number>((resolve, reject) => {
      servers.push(srv);
      srv.once('error', reject);
      srv.listen(port, host, () => {
        const addr = srv.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('broker: no TCP address'));
        logger.info({ host, port: addr.port }, `${what} listening`);
        resolve(addr.port);
      });
    });

  return {
    aedes,
    metrics,
    logger,
    persistence,
    guard,
    principalOf: (client) => (client ? principals.get(client) : undefined),
    setCredentials(store) {
      credentials = store;
      guard.login.clearCache();
      let disconnected = 0;
      for (const client of Object.values(liveClients(aedes))) {
        const p = principals.get(client);
        if (!p || store.admits(p)) continue;
        disconnected++;
        metrics.revokedDisconnects.inc();
        logger.warn({ clientId: client.id, role: p.role }, 'credential revoked or removed: disconnecting');
        client.close();
      }
      return disconnected;
    },
    setPublishGate(g) {
      gate = g;
    },
    listen(port = 0, host = '127.0.0.1') {
      return listenOn(
        createServer((socket) => accept(socket)),
        port,
        host,
        'mqtt broker',
      );
    },
    listenTls({ port = 0, host = '127.0.0.1', cert, key }) {
      // Fails here, not at the first client, when the certificate or key is unusable.
      const secureContext = createSecureContext({ cert, key });
      // TLS is set up on an admitted socket, so the caps and the deadline cover the handshake too.
      const secure = (raw: Socket) => new TLSSocket(raw, { isServer: true, secureContext });
      return listenOn(
        createServer((socket) => accept(socket, secure)),
        port,
        host,
        'mqtt broker (TLS)',
      );
    },
    async close() {
      const closed = new Promise<void>((resolve) => aedes.close(() => resolve()));
      // With Redis down, Aedes' close waits for ever on the emitter's QUIT: drop it after a while.
      const dropping = engines ? setTimeout(() => engines.dropEmitter(), 3_000) : undefined;
      await closed;
      clearTimeout(dropping);
      for (const s of sockets) s.destroy();
      for (const srv of servers) if (srv.listening) await new Promise<void>((resolve) => srv.close(() => resolve()));
      await loginCacheFile?.close();
      // Aedes does not close its persistence; this flushes the journal and releases the directory.
      await persistence?.destroy();
      if (engines) await Promise.race([engines.persistence.destroy(), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
    },
  };
}

/** Aedes' connected clients by client id (public at runtime, missing from its typings). */
function liveClients(aedes: Aedes): Record<string, Client> {
  return (aedes as unknown as { clients: Record<string, Client> }).clients;
}

/** A will stamped by another broker (Aedes republishes those when that broker stops beating). */
function isOrphanWill(packet: PublishPacket, ownId: string): boolean {
  const stamped = packet as PublishPacket & { brokerId?: unknown; clientId?: unknown };
  return typeof stamped.brokerId === 'string' && stamped.brokerId !== ownId && typeof stamped.clientId === 'string';
}

function remoteOf(client: Client): string | undefined {
  const conn = client.conn as Partial<Socket>;
  return conn.remoteAddress ? `${conn.remoteAddress}:${conn.remotePort}` : undefined;
}
