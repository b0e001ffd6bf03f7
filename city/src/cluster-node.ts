import { join } from 'node:path';
import { createBroker, createIngest, loadCredentials, type Ingest, type PosteBroker } from '@poste/broker';
import type { Cloud } from '@poste/cloud';
import type { Clock } from '@poste/protocol';
import type { TelemetryStore } from '@poste/telemetry-store';
import type { Logger } from 'pino';

/** As startCloud's: a day of a large city's telemetry fits. */
const SPOOL_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * A further broker node of the city's cluster: a broker on the shared Redis and its own ingest
 * into the city's store, as `poste-broker serve --redis URL` runs one. Node 0 is the cloud itself
 * (startCloud with the same Redis), which also serves the dashboard.
 */
export interface ClusterNode {
  readonly index: number;
  readonly broker: PosteBroker;
  readonly ingest: Ingest;
  readonly mqttUrl: string;
  stop(): Promise<void>;
}

export interface ClusterNodeOptions {
  index: number;
  redisUrl: string;
  credentialsFile: string;
  store: TelemetryStore;
  /** this node's ingest spool lives in DIR/ingest-spool */
  dataDir: string;
  host: string;
  clock: Clock;
  logger: Logger;
  /** the cloud's registry: the dashboard's /metrics then counts every node of this process */
  registry: Cloud['metricsRegistry'];
  /** devices one gateway may announce (as the cloud's ingest is given) */
  maxDevicesPerGateway: number;
}

export async function startClusterNode(o: ClusterNodeOptions): Promise<ClusterNode> {
  const credentials = await loadCredentials(o.credentialsFile);
  const logger = o.logger.child({ node: o.index });
  const broker = await createBroker({
    credentials,
    registry: o.registry,
    logger: logger.child({ component: 'broker' }),
    cluster: { redisUrl: o.redisUrl },
  });
  try {
    const port = await broker.listen(0, o.host);
    const ingest = createIngest({
      broker,
      store: o.store,
      directory: (gw) => credentials.municipalityOf(gw),
      clock: o.clock,
      logger: logger.child({ component: 'ingest' }),
      spool: { dir: join(o.dataDir, 'ingest-spool'), maxBytes: SPOOL_MAX_BYTES },
      // as startCloud: a device's readings count once its gateway announced it
      fleet: { requireAnnouncement: true, maxDevicesPerGateway: o.maxDevicesPerGateway },
    });
    return {
      index: o.index,
      broker,
      ingest,
      mqttUrl: `mqtt://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
      async stop() {
        await ingest.close();
        await broker.close();
      },
    };
  } catch (err) {
    await broker.close();
    throw err;
  }
}
