// Broker throughput: QoS 1 telemetry batches from gateways through the Poste broker (scrypt
// credentials, namespace ACL, ingest validating and writing every reading to an in-memory store
// before the PUBACK) beside bare Aedes (no auth, no ACL, no ingest) and beside mosquitto, in the
// same run, with the same load from a separate process.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createBroker, createIngest, CredentialsStore } from '@poste/broker';
import { openStore } from '@poste/telemetry-store';
import { startMosquitto } from '../harness/mosquitto';
import type { BenchModule } from './bench-kit';
import { report } from './bench-kit';
import type { LoadClient, LoadResult, LoadSpec } from './load/mqtt-load';
import { runLoad } from './load/run-load';

const GATEWAYS = 8;
const topicOf = (gw: string) => `poste/v1/gw/${gw}/telemetry/luminaire`;

/** What one broker run gave: the load generator's result and this process's CPU per message (the broker's; the load runs in a child). */
interface BrokerRun {
  load: LoadResult;
  cpuUsPerMsg: number;
}

async function measured(run: () => Promise<LoadResult>): Promise<BrokerRun> {
  const before = process.cpuUsage();
  const load = await run();
  const used = process.cpuUsage(before);
  return { load, cpuUsPerMsg: (used.user + used.system) / Math.max(1, load.messages) };
}

function spec(url: string, clients: LoadClient[], quick: boolean): LoadSpec {
  return { url, clients, messagesPerClient: quick ? 300 : 2_000, readingsPerMessage: 10, window: 16, startTs: Date.UTC(2026, 0, 1) };
}

async function bareAedes(quick: boolean): Promise<BrokerRun> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const clients = Array.from({ length: GATEWAYS }, (_, i) => ({
      clientId: `gw${i}`,
      topic: topicOf(`gw${i}`),
      devicePrefix: `gw${i}-lum`,
    }));
    return await measured(() => runLoad(spec(`mqtt://127.0.0.1:${port}`, clients, quick)));
  } finally {
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function posteBroker(quick: boolean): Promise<BrokerRun & { pointsWritten: number }> {
  let credentials = CredentialsStore.empty();
  const clients: LoadClient[] = [];
  for (let i = 0; i < GATEWAYS; i++) {
    const r = await credentials.withGateway(`gw${i}`, 'campinas');
    credentials = r.store;
    clients.push({ clientId: `gw${i}`, username: `gw${i}`, password: r.password, topic: topicOf(`gw${i}`), devicePrefix: `gw${i}-lum` });
  }
  const logger = pino({ level: 'warn' });
  // A gateway's publish-rate limit (a defence against a runaway or hostile client, 200 msg/s by
  // default) is lifted: this measures what the broker can carry, not the policy.
  const broker = await createBroker({
    credentials,
    logger,
    registry: new Registry(),
    guard: { publish: { messagesPerSecond: 1_000_000, messagesBurst: 1_000_000, bytesPerSecond: 1024 ** 3 } },
  });
  const store = await openStore({ kind: 'memory' });
  const ingest = createIngest({ broker, store, directory: credentials.directory(), logger });
  const port = await broker.listen(0, '127.0.0.1');
  try {
    const run = await measured(async () => {
      const load = await runLoad(spec(`mqtt://127.0.0.1:${port}`, clients, quick));
      await ingest.flush();
      return load;
    });
    return { ...run, pointsWritten: ingest.stats().pointsWritten };
  } finally {
    await ingest.close();
    await broker.close();
    await store.close();
  }
}

async function mosquitto(quick: boolean): Promise<LoadResult> {
  const m = await startMosquitto();
  try {
    const clients = Array.from({ length: GATEWAYS }, (_, i) => ({
      clientId: `gw${i}`,
      topic: topicOf(`gw${i}`),
      devicePrefix: `gw${i}-lum`,
    }));
    return await runLoad(spec(m.url, clients, quick));
  } finally {
    await m.stop();
  }
}

export const brokerBench: BenchModule = {
  name: 'broker',
  description: `QoS 1 msgs/s from ${GATEWAYS} gateways (10 readings each, window 16): Poste broker (auth + ACL + ingest) vs bare Aedes vs mosquitto`,
  async run({ quick }) {
    const bare = await bareAedes(quick);
    const poste = await posteBroker(quick);
    const mosq = await mosquitto(quick);
    const line = (r: LoadResult) => ({
      'msgs/s': Math.round(r.msgsPerSec),
      'ack p50 ms': r.ackP50,
      'ack p99 ms': r.ackP99,
      errors: r.errors,
    });
    report('broker: bare Aedes', { ...line(bare.load), 'broker cpu µs/msg': Math.round(bare.cpuUsPerMsg) });
    report('broker: mosquitto', line(mosq));
    report(
      'broker: Poste (auth+ACL+ingest)',
      {
        ...line(poste.load),
        'broker cpu µs/msg': Math.round(poste.cpuUsPerMsg),
        'points written': poste.pointsWritten,
        'ratio to bare Aedes': (poste.load.msgsPerSec / bare.load.msgsPerSec).toFixed(2),
      },
      '≥ 0.7× bare Aedes',
    );
    if (poste.pointsWritten !== poste.load.readings)
      console.log(`   MISS: ${poste.load.readings} readings acknowledged but ${poste.pointsWritten} points written`);
    console.log('   store: in-memory backend (measures the broker and ingest, not a database); load: one child process, mqtt.js');
    console.log(
      "   broker cpu: this process's CPU (all its threads, GC included) per message carried; the load generator is not in it. It moves less than msgs/s when other processes share the cores.",
    );
  },
};
