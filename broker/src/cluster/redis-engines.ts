import AsyncRedisPersistence, { type StoredWill } from 'aedes-persistence-redis/asyncPersistence.js';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';
import type { ParsedClusterOptions } from './cluster-options';

/**
 * Redis commands wait this many reconnect attempts (ioredis' retry: 50 ms more per attempt, at
 * most 2 s — about half a minute) before failing: a Redis restart is ridden out, an outage is not
 * queued for ever.
 */
const MAX_RETRIES_PER_REQUEST = 20;

/**
 * aedes-persistence-redis with one change: the wills of a dead node's clients are published only
 * for clients that have not connected again elsewhere. Its wills are keyed by node and client, so
 * a gateway that failed over to another node already has a will there, and its old one would
 * otherwise be published by the survivors after the gateway's new birth — marking an online
 * gateway offline. The stale will is deleted instead.
 */
export class ClusterPersistence extends AsyncRedisPersistence {
  readonly #conn: Redis;

  constructor(opts: { conn: Redis; maxSessionDelivery?: number }) {
    super(opts);
    this.#conn = opts.conn;
    markFireAndForgetHandled(opts.conn);
  }

  // Aedes 1.x pipes the retained stream (`.pipe`), and this persistence returns a bare async
  // generator (its callback wrapper for Aedes 0.x makes the stream): a Readable over it.
  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(super.createRetainedStreamCombi(patterns));
  }

  override createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  override outgoingStream(client: { id: string }): Readable {
    return Readable.from(super.outgoingStream(client));
  }

  /**
   * A clean session drops the QoS 2 packets its client sent and never released (Aedes 1.x calls
   * this when present; aedes-persistence-redis predates it, so they would linger in Redis).
   */
  async cleanIncoming(client: { id: string }): Promise<void> {
    const match = `incoming:${encodeURIComponent(client.id)}:*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#conn.scan(cursor, 'MATCH', match, 'COUNT', 500);
      if (keys.length > 0) await this.#conn.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  override async *streamWill(brokers?: Record<string, number>): AsyncIterable<StoredWill> {
    if (brokers === undefined) {
      yield* super.streamWill();
      return;
    }
    const all: StoredWill[] = [];
    for await (const will of super.streamWill()) all.push(will);
    const liveClients = new Set(all.filter((w) => brokers[w.brokerId] !== undefined).map((w) => w.clientId));
    for (const will of all) {
      if (brokers[will.brokerId] !== undefined) continue;
      if (liveClients.has(will.clientId)) await this.delWill({ id: will.clientId, brokerId: will.brokerId });
      else yield will;
    }
  }
}

/**
 * aedes-persistence-redis 11 sends LREM and RPUSH on the will list without awaiting them (putWill,
 * delWill). When the connection closes with one of them unanswered — a node stopping while Aedes
 * deletes its departing clients' wills — ioredis rejects it, nobody handles the rejection, and Node
 * ends the process. A no-op handler on those two commands' promises marks them handled; a caller
 * that awaits one still gets its error, and the connection's 'error' listener still logs the outage.
 */
function markFireAndForgetHandled(conn: Redis): void {
  const commands = conn as unknown as Record<'lrem' | 'rpush', (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['lrem', 'rpush'] as const) {
    const send = commands[name].bind(conn);
    commands[name] = (...args: unknown[]) => {
      const reply = send(...args);
      reply.catch(() => {});
      return reply;
    };
  }
}

export interface RedisEngines {
  /** Aedes' `mq`: the message fan-out between the nodes */
  readonly mq: ReturnType<typeof MQEmitterRedis>;
  readonly persistence: ClusterPersistence;
  /** Drops the emitter's connections at once (Aedes' close waits for a Redis that may be down). */
  dropEmitter(): void;
}

/** The emitter and the persistence of one cluster node, on the shared Redis. */
export function createRedisEngines(opts: ParsedClusterOptions, logger: Logger): RedisEngines {
  // One warning per outage, not one per reconnect attempt: ioredis retries every ≤ 2 s.
  let down = false;
  const onError = (what: string) => (err: Error) => {
    if (down) return;
    down = true;
    logger.error({ err: err.message, redis: redactedUrl(opts.redisUrl), what }, 'redis unreachable: cluster state and fan-out wait for it');
  };
  const onReady = () => {
    if (!down) return;
    down = false;
    logger.warn({ redis: redactedUrl(opts.redisUrl) }, 'redis reachable again');
  };
  const connect = (what: string) => {
    const conn = new Redis(opts.redisUrl, { maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST, enableAutoPipelining: true });
    conn.on('error', onError(what));
    conn.on('ready', onReady);
    return conn;
  };
  const mq = MQEmitterRedis({ subConn: connect('fan-out subscriber'), pubConn: connect('fan-out publisher') });
  // mqemitter-redis re-emits connection errors here; an 'error' without a listener would end the process.
  (mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', onError('fan-out'));
  const persistence = new ClusterPersistence({ conn: connect('state'), maxSessionDelivery: opts.maxSessionDelivery });
  return {
    mq,
    persistence,
    dropEmitter() {
      const conns = mq as unknown as { subConn: Redis; pubConn: Redis };
      conns.subConn.disconnect();
      conns.pubConn.disconnect();
    },
  };
}

/** The Redis URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis (unparseable URL)';
  }
}
