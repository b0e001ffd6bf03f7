import type { Socket } from 'node:net';
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { Principal, VerifyResult } from '../credentials/store';
import type { PosteMetrics } from '../metrics';
import { canPublish } from '../broker/acl';
import { ConnectionLimits, connectionCapUnderFdLimit, fileDescriptorSoftLimit } from './connection-limits';
import { parseGuardConfig, type BrokerGuardConfig, type BrokerGuardOptions } from './guard-config';
import { GuardedConnection } from '@poste/protocol/mqtt-guard';
import { LoginGuard, type LoginCacheOptions } from './login-guard';
import { PublishRate, RetainedQuota } from './publish-limits';

export interface BrokerGuard {
  readonly config: BrokerGuardConfig;
  readonly limits: ConnectionLimits;
  readonly login: LoginGuard;
  readonly retained: RetainedQuota;
  /**
   * Admits an accepted socket and wraps it for Aedes, or destroys it (counted) when a cap is
   * reached. `secure` (TLS) wraps the admitted raw socket before the stream guard sees its bytes.
   */
  accept(socket: Socket, secure?: (raw: Socket) => Socket): GuardedConnection | undefined;
  /** CONNECT accepted: lift the pre-auth limits of the client's connection. */
  authenticated(client: Client): void;
  /** Publish rate and retained quota; a refusal reason (client to be disconnected) or undefined. */
  checkPublish(client: Client, principal: Principal, packet: PublishPacket, bytes: number): string | undefined;
}

/** The remote address of an Aedes client (its GuardedConnection or a raw socket). */
export function remoteAddressOf(client: Client): string {
  return (client.conn as Partial<Socket>).remoteAddress ?? 'unknown';
}

/**
 * The broker's defences in one place (see README "Limits"): caps at accept, the stream guard on
 * every connection, the login guard, per-client publish rate and per-gateway retained quota.
 */
export function createBrokerGuard(opts: {
  guard: BrokerGuardOptions | undefined;
  maxPayloadBytes: number;
  verify: (username: string | undefined, password: Buffer | undefined) => Promise<VerifyResult>;
  metrics: PosteMetrics;
  logger: Logger;
  /** how the login cache compares passwords and who hears of its changes (login-cache-file.ts) */
  loginCache?: LoginCacheOptions;
}): BrokerGuard {
  const config = parseGuardConfig(opts.guard);
  const { metrics, logger } = opts;
  const fdLimit = fileDescriptorSoftLimit() ?? config.connections.fdLimitFallback;
  const maxConnections = connectionCapUnderFdLimit(config.connections.maxConnections, fdLimit, config.connections.fdReserve);
  if (maxConnections < config.connections.maxConnections) {
    logger.info(
      { fdLimit, maxConnections, configured: config.connections.maxConnections },
      'connection cap lowered to stay under the open-files limit',
    );
  }
  const limits = new ConnectionLimits({ ...config.connections, maxConnections });
  const frameLimits = {
    preAuthBytes: config.frames.preAuthBytes,
    // a PUBLISH's remaining length = topic (≤ 64 KiB + 2) + packet id (2) + payload
    maxPacketBytes: config.frames.maxPacketBytes ?? opts.maxPayloadBytes + 64 * 1024 + 8,
    // before CONNECT is accepted, preAuthBytes caps the total too, and a deadline runs
    preAuthTotal: true,
    connectDeadlineMs: config.frames.connectDeadlineMs,
  };
  const bytesBurst = config.publish.bytesBurst ?? Math.max(config.publish.bytesPerSecond, 2 * opts.maxPayloadBytes);
  const login = new LoginGuard(opts.verify, config.login, Date.now, opts.loginCache);
  const retained = new RetainedQuota(config.retained);
  const admissions = new WeakMap<GuardedConnection, { authenticated(): void }>();
  const rates = new WeakMap<Client, PublishRate>();

  return {
    config: { ...config, connections: { ...config.connections, maxConnections } },
    limits,
    login,
    retained,
    accept(socket, secure) {
      const address = socket.remoteAddress ?? 'unknown';
      const admission = limits.admit(address);
      if (!admission.ok) {
        metrics.connectionsRefused.inc({ reason: admission.reason });
        logger.warn({ remote: address, reason: admission.reason }, 'connection refused at accept');
        socket.destroy();
        return undefined;
      }
      metrics.connectionsOpen.inc();
      const conn = new GuardedConnection(secure ? secure(socket) : socket, frameLimits, (v) => {
        metrics.guardClosed.inc({ reason: v.reason });
        logger.warn({ remote: `${address}:${socket.remotePort}`, ...v }, 'connection cut by the stream guard');
      });
      admissions.set(conn, admission);
      socket.once('close', () => {
        admission.release();
        metrics.connectionsOpen.dec();
      });
      return conn;
    },
    authenticated(client) {
      const conn = client.conn;
      if (conn instanceof GuardedConnection) {
        conn.authenticated();
        admissions.get(conn)?.authenticated();
      }
    },
    checkPublish(client, principal, packet, bytes) {
      // A will is published by the broker as the client goes away: not the client's rate.
      if (!client.closed) {
        let rate = rates.get(client);
        if (!rate) {
          rate = new PublishRate({ ...config.publish, bytesBurst });
          rates.set(client, rate);
        }
        const over = rate.take(bytes);
        if (over) {
          metrics.publishRateExceeded.inc({ limit: over });
          logger.warn({ clientId: client.id, limit: over, config: config.publish }, 'publish rate exceeded: disconnecting');
          return `publish rate exceeded (${over})`;
        }
      }
      if (packet.retain && principal.role === 'gateway') {
        const over = retained.take(principal.id, packet.topic, bytes);
        if (over) {
          metrics.retainedQuotaExceeded.inc({ limit: over });
          logger.warn(
            { clientId: client.id, topic: packet.topic, limit: over, usage: retained.usage(principal.id), quota: config.retained },
            'retained quota exceeded',
          );
          return `retained quota exceeded (${over})`;
        }
      }
      return undefined;
    },
  };
}

/**
 * Counts the retained messages already kept (restored from disk with --data) against their
 * gateways' quotas, so a restart does not reset them. A topic is a gateway's if the gateway could
 * have published it (its namespace, not its southbound topics, which services write).
 */
export async function seedRetainedQuota(
  retained: RetainedQuota,
  stream: AsyncIterable<{ topic: string; payload: Buffer | string }>,
  gatewayOf: (topic: string) => Principal | undefined,
): Promise<void> {
  for await (const packet of stream) {
    const gw = gatewayOf(packet.topic);
    if (gw?.role !== 'gateway' || !canPublish(gw, packet.topic)) continue;
    const bytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
    // Over quota already (limits lowered since): recorded anyway by forcing, so deletions free it.
    if (retained.take(gw.id, packet.topic, bytes)) retained.force(gw.id, packet.topic, bytes);
  }
}
