// The cluster rig: real processes end to end — redis-server, influxd, N broker nodes
// (`poste-broker serve --redis`, child processes, each with its own ingest and spool), one agent per
// gateway (`poste-agent --config`, child processes) given the list of every node, and one fleet of
// simulated devices in this process on an accelerated clock, each device on its gateway's LAN.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addGateway, addService } from '@poste/broker';
import { DeviceFleet, generateCity, SimClock, type GeneratedCity } from '@poste/simulators';
import { startTsChild, type RunningChild } from './harness/child-process';
import { freePort, waitFor } from './harness/free-port';
import { startInfluxDB, type RunningInfluxDB } from './harness/influxdb';
import { startRedis, type RunningRedis } from './harness/redis';
import { accountReadings, storedCounts, type Accounting } from './fault/accounting';

export const MUNICIPALITY = 'campinas';
const SIM_START = '2024-06-03T20:00:00Z';
const REPORT_INTERVAL_S = 60;
const STEP_S = 10;
export const HOUR = 3_600_000;

export interface ClusterNode {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  child(): RunningChild | undefined;
}

export interface ClusterRig {
  readonly redis: RunningRedis;
  readonly influx: RunningInfluxDB;
  readonly database: string;
  readonly city: GeneratedCity;
  readonly gateways: string[];
  readonly fleet: DeviceFleet;
  readonly service: { username: string; password: string };
  readonly nodes: ClusterNode[];
  /** Starts node `index` (again): same port, same data directory. */
  startNode(index: number): Promise<void>;
  /** SIGKILLs node `index`. */
  killNode(index: number): Promise<void>;
  /** The node each agent says it is connected to now (undefined while it is not). */
  nodeOf(gateway: string): number | undefined;
  untilSim(offsetMs: number, timeoutMs?: number): Promise<void>;
  /** Runs the fleet to `endOffsetMs`, waits for ingest to catch up, accounts for every reading. */
  finish(endOffsetMs: number, settleMs?: number): Promise<Accounting>;
  logs(): string;
  stop(): Promise<void>;
}

export interface ClusterRigOptions {
  name: string;
  /** nodes started at once (more can be added with startNode) */
  nodes: number;
  /** node slots: ports reserved and given to every agent, started or not (default `nodes`) */
  slots?: number;
  gateways?: number;
  luminairesPerGateway?: number;
  speed?: number;
}

/** The last lines of a child's output. */
function tail(text: string, lines = 20): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .map((l) => l.slice(0, 400))
    .join('\n');
}

export async function startClusterRig(o: ClusterRigOptions): Promise<ClusterRig> {
  const root = await mkdtemp(join(tmpdir(), `poste-cluster-${o.name}-`));
  const gatewayCount = o.gateways ?? 3;
  const city = generateCity({
    seed: 6060,
    start: SIM_START,
    speed: 1,
    reportIntervalS: REPORT_INTERVAL_S,
    stepS: STEP_S,
    municipalities: [
      {
        id: MUNICIPALITY,
        name: 'Campinas',
        timeZone: 'America/Sao_Paulo',
        lat: -22.9056,
        lon: -47.0608,
        gateways: Array.from({ length: gatewayCount }, (_, i) => ({
          id: `cps-node-${i}`,
          luminaires: o.luminairesPerGateway ?? 10,
          aps: 1,
        })),
      },
    ],
  });
  const gateways = city.gateways.map((g) => g.id);
  const credentialsFile = join(root, 'credentials.json');
  const passwords = new Map<string, string>();
  for (const gw of gateways) passwords.set(gw, await addGateway(credentialsFile, gw, MUNICIPALITY));
  const service = { username: 'cluster-rig', password: await addService(credentialsFile, 'cluster-rig') };

  const [redis, influx] = await Promise.all([startRedis(), startInfluxDB({})]);
  const database = 'poste_cluster';
  const slots = o.slots ?? o.nodes;
  const children: (RunningChild | undefined)[] = [];
  const past: string[] = [];
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < slots; i++) {
    const port = await freePort();
    nodes.push({ index: i, port, url: `mqtt://127.0.0.1:${port}`, child: () => children[i] });
  }

  const startNode = async (index: number): Promise<void> => {
    const node = nodes[index]!;
    const dataDir = join(root, `node-${index}`);
    await mkdir(dataDir, { recursive: true });
    const child = startTsChild(
      'broker/src/cli.ts',
      [
        'serve',
        '--credentials',
        credentialsFile,
        '--store',
        `influxdb1:${influx.url}/${database}`,
        '--port',
        String(node.port),
        '--data',
        dataDir,
        '--redis',
        redis.url,
      ],
      { POSTE_LOG_LEVEL: 'info' },
    );
    children[index] = child;
    await child.waitForLine(/poste-broker listening/, 30_000);
  };
  const agents = new Map<string, RunningChild>();
  try {
    await Promise.all(Array.from({ length: o.nodes }, (_, i) => startNode(i)));
    const lanPorts = new Map<string, number>();
    for (const gw of gateways) {
      const dir = join(root, `agent-${gw}`);
      await mkdir(join(dir, 'data'), { recursive: true });
      const lanPort = await freePort();
      lanPorts.set(gw, lanPort);
      const config = join(dir, 'agent.json');
      await writeFile(
        config,
        JSON.stringify({
          configVersion: 2,
          gatewayId: gw,
          north: {
            url: nodes.map((n) => n.url),
            username: gw,
            password: passwords.get(gw),
            keepaliveS: 5,
            connectTimeoutMs: 2_000,
            reconnect: { initialDelayMs: 200, maxDelayMs: 2_000 },
          },
          adapters: [{ kind: 'poste', port: lanPort }],
          telemetry: { batchMaxReadings: 200, batchMaxDelayMs: 200 },
          dataDir: join(dir, 'data'),
          logLevel: 'info',
        }),
      );
      const child = startTsChild('agent/src/cli.ts', ['--config', config]);
      agents.set(gw, child);
    }
    for (const child of agents.values()) await child.waitForLine(/north link connected/, 30_000);

    const speed = o.speed ?? 900;
    const clock = SimClock.accelerated(city.startMs, speed);
    const fleet = new DeviceFleet({
      devices: city.devices,
      url: (d) => `mqtt://127.0.0.1:${lanPorts.get(d.gateway)}`,
      clock,
      startMs: city.startMs,
      stepS: STEP_S,
      reportIntervalS: REPORT_INTERVAL_S,
      mqtt: { reconnectPeriod: 200, connectTimeout: 2_000 },
    });
    await fleet.start();

    const nodeOf = (gw: string): number | undefined => {
      const out = agents.get(gw)?.output() ?? '';
      const lines = out.split('\n').filter((l) => /north link (connected|lost)/.test(l));
      const last = lines[lines.length - 1];
      if (last === undefined || /north link lost/.test(last)) return undefined;
      const url = /"url":"([^"]+)"/.exec(last)?.[1];
      const index = nodes.findIndex((n) => n.url === url);
      return index < 0 ? undefined : index;
    };

    return {
      redis,
      influx,
      database,
      city,
      gateways,
      fleet,
      service,
      nodes,
      startNode,
      async killNode(index) {
        const child = children[index];
        await child?.kill();
        if (child) past.push(`--- node ${index} (SIGKILLed, pid ${child.pid}) ---\n${tail(child.output())}`);
        children[index] = undefined;
      },
      nodeOf,
      untilSim: (offsetMs, timeoutMs = 60_000) =>
        waitFor(`simulated +${offsetMs / 60_000} min`, () => fleet.engine.nowMs >= city.startMs + offsetMs, timeoutMs, 20),
      async finish(endOffsetMs, settleMs = 30_000) {
        await fleet.runUntil(city.startMs + endOffsetMs);
        const produced = fleet.engine.devices.reduce(
          (n, d) =>
            n + (d.spec.kind === 'luminaire' ? fleet.engine.luminaire(d.spec.id).ledger.reports : fleet.engine.ap(d.spec.id).reports),
          0,
        );
        await waitFor(
          'the store to hold every reading',
          async () => {
            const c = await storedCounts(influx.url, database).catch(() => ({ luminaire: 0, ap: 0, event: 0 }));
            return c.luminaire + c.ap >= produced;
          },
          settleMs,
          250,
        ).catch(() => {});
        return accountReadings({ influxUrl: influx.url, database, fleet, events: [] });
      },
      logs() {
        const live = [
          ...children.map((c, i) => (c ? `--- node ${i} (pid ${c.pid}) ---\n${tail(c.output())}` : '')),
          ...[...agents].map(([gw, c]) => `--- agent ${gw} ---\n${tail(c.output(), 12)}`),
        ];
        return [...past, ...live.filter((x) => x !== '')].join('\n');
      },
      async stop() {
        await fleet.stop().catch(() => {});
        for (const a of agents.values()) await a.stop().catch(() => {});
        for (const c of children) await c?.stop().catch(() => {});
        await influx.stop();
        await redis.remove();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    const nodeLogs = children.map((c, i) => (c ? `--- node ${i} ---\n${tail(c.output())}` : '')).join('\n');
    (err as Error).message += `\n${nodeLogs}`;
    for (const a of agents.values()) await a.kill().catch(() => {});
    for (const c of children) await c?.kill().catch(() => {});
    await influx.stop();
    await redis.remove();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}
