import { join } from 'node:path';
import { startAgent, type Agent } from '@poste/agent';
import type { Ingest, PosteBroker } from '@poste/broker';
import { startCloud, type Cloud } from '@poste/cloud';
import { parseInventory, type ConnectedFleetTracker, type DashboardApi } from '@poste/dashboard-api';
import type { Clock } from '@poste/protocol';
import {
  DeviceFleet,
  generateCity,
  SimClock,
  type CityScenarioInput,
  type FleetCheckpoint,
  type FleetSnapshot,
  type GeneratedCity,
} from '@poste/simulators';
import type { TelemetryStore } from '@poste/telemetry-store';
import { pino, type Logger } from 'pino';
import { publishDesiredConfigs } from './desired-config';
import { CITY_PROGRAM_VERSION, dimmingConfigFor } from './dimming-programs';
import { inventoryForCity } from './inventory';
import { DASHBOARD_SERVICE_USER, provisionCredentials } from './secrets';
import { FaultInjector } from './fault-injector';
import { startClusterNode, type ClusterNode } from './cluster-node';
import { startOwnRedis, type OwnRedis } from './redis-server';

export interface CityOptions {
  scenario: CityScenarioInput;
  /** Where credentials, agent state and (for the embedded store) telemetry live. */
  dataDir: string;
  /** Opened by the caller, closed by the caller. */
  store: TelemetryStore;
  /** Default: accelerated from the scenario's start at the scenario's speed. */
  clock?: Clock;
  host?: string;
  /** 0 = any free port */
  mqttPort?: number;
  /** 0 = any free port */
  httpPort?: number;
  logger?: Logger;
  /** Level of the default logger (ignored with `logger`); default 'warn'. The CLI reads it from POSTE_LOG_LEVEL. */
  logLevel?: string;
  /** Telemetry batching of the agents (default: the agent's). */
  agentBatch?: { batchMaxReadings: number; batchMaxDelayMs: number };
  /** Send the city's dimming programs to the agents (default true); without them devices run their own fallback program. */
  dimmingPrograms?: boolean;
  /**
   * Makes the devices' state durable (checkpoint.ts: writeCityCheckpoint); the devices publish a
   * step's readings only once it resolved. Called once at start, then every `checkpointIntervalMs`.
   */
  checkpoint?: FleetCheckpoint;
  /** Least real ms between checkpoints (default 200). */
  checkpointIntervalMs?: number;
  /**
   * End-to-end backpressure: the devices stop stepping (sim time lags the clock) while more than
   * this many of their readings have not reached the store yet (default 5,000, or three sim steps'
   * readings in a larger city), so nothing between
   * devices and store — agents, broker, ingest — has to hold more than that.
   */
  maxReadingsInFlight?: number;
  /** Continue the devices from a checkpoint (counters, faults, held readings); the clock should start at its time. */
  resume?: FleetSnapshot;
  /** Luminaire faults per simulated hour across the city, each repaired 6 simulated hours later (default 0). */
  faultsPerHour?: number;
  /**
   * Broker nodes (default 1). Above 1 — or with `redisUrl` — they form a cluster on one Redis:
   * node 0 is the cloud (with the dashboard), the others a broker and an ingest each, all in this
   * process and writing to the same store; every agent is given all their URLs and fails over.
   */
  nodes?: number;
  /** The cluster's Redis; without it, a cluster of `nodes` > 1 starts its own redis-server (stopped with the city). */
  redisUrl?: string;
  /**
   * Devices per MQTT connection to their agent (default 1: a session and a will each). Above 1 they
   * share connections like RF-mesh nodes behind a concentrator (DeviceFleetOptions.devicesPerSession):
   * what lets a city of 100,000 luminaires run in one process.
   */
  devicesPerSession?: number;
}

export interface CityStopOptions {
  /** Real ms the whole stop may take (default 8,000); whatever is not done by then is left (see CityStopReport). */
  deadlineMs?: number;
}

export interface CityStopReport {
  /** Stages cut short by the deadline (their work resumes on the next start: devices' held readings, agents' spools) or failed. */
  cutShort: string[];
}

export interface CityStatus {
  simTime: number;
  devicesConnected: number;
  devices: number;
  readingsPublished: number;
  /** Readings the devices hold unacknowledged or awaiting their checkpoint. */
  heldByDevices: number;
  /** How far the devices' simulated time is behind the clock (backpressure), ms. */
  simLagMs: number;
  pointsWritten: number;
  rejected: number;
  agentsOnline: number;
  /** faults injected at random in this run (--faults-per-hour) */
  faultsInjected: number;
}

export interface City {
  readonly generated: GeneratedCity;
  /** The cloud part (broker, ingest, dashboard API) as poste-cloud runs it. */
  readonly cloud: Cloud;
  readonly clock: Clock;
  readonly broker: PosteBroker;
  readonly ingest: Ingest;
  readonly agents: ReadonlyMap<string, Agent>;
  readonly fleet: DeviceFleet;
  readonly fleetTracker: ConnectedFleetTracker;
  readonly api: DashboardApi;
  readonly dashboardUrl: string;
  readonly mqttUrl: string;
  /** The broker nodes beyond the cloud's (empty without a cluster). */
  readonly nodes: readonly ClusterNode[];
  /** Every broker node's MQTT URL, the cloud's first: what each agent is given. */
  readonly nodeUrls: readonly string[];
  /** The cluster's Redis, and whether the city started it; undefined without a cluster. */
  readonly redis: { url: string; own: OwnRedis | undefined } | undefined;
  status(): CityStatus;
  /**
   * Stops the devices' simulated time at `simMs` and resolves once every reading up to then has
   * crossed agent → broker → ingest and is in the store: the moment to compare with ground truth.
   */
  settle(simMs: number, timeoutMs?: number): Promise<void>;
  /**
   * Devices stop (last checkpoint, goodbye), agents flush and leave, then the API, ingest and broker
   * close — within a deadline: a stage still running then is left (reported), the next stage starts.
   */
  stop(opts?: CityStopOptions): Promise<CityStopReport>;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`city: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface StopStage {
  name: string;
  /** Share of the time left this stage may use. */
  share: number;
  run: (budgetMs: number) => Promise<unknown>;
}

/** Runs the stages in order, each bounded by its share of what is left of the deadline. */
async function stopWithin(deadlineMs: number, stages: StopStage[]): Promise<CityStopReport> {
  const end = Date.now() + deadlineMs;
  const cutShort: string[] = [];
  for (const stage of stages) {
    const budget = Math.max(0, (end - Date.now()) * stage.share);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      stage.run(budget).then(
        () => true,
        (err: unknown) => {
          cutShort.push(`${stage.name} (failed: ${(err as Error).message})`);
          return true;
        },
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budget))),
    ]);
    clearTimeout(timer);
    if (!finished) cutShort.push(stage.name);
  }
  return { cutShort };
}

/** Boots a whole city: the cloud (broker + ingest + dashboard API), one agent per gateway, simulated devices. */
export async function startCity(opts: CityOptions): Promise<City> {
  const logger = opts.logger ?? pino({ level: opts.logLevel ?? 'warn' });
  const host = opts.host ?? '127.0.0.1';
  const generated = generateCity(opts.scenario);
  const clock = opts.clock ?? SimClock.accelerated(generated.startMs, generated.scenario.speed);

  // The city plays every gateway itself, so it provisions their credentials (and the dashboard's
  // service user) before the cloud reads the credentials file.
  const credentialsFile = join(opts.dataDir, 'credentials.json');
  const secrets = await provisionCredentials(
    credentialsFile,
    join(opts.dataDir, 'secrets.json'),
    generated.gateways.map((g) => ({ id: g.id, municipality: g.municipality })),
  );
  const service = { username: DASHBOARD_SERVICE_USER, password: secrets.services[DASHBOARD_SERVICE_USER]! };
  // Ingest caps the devices a gateway may announce (250 by default: a segment controller's share);
  // the city's gateways carry what its size says, so the cap is the largest gateway's count.
  const devicesPerGateway = new Map<string, number>();
  for (const d of generated.devices) devicesPerGateway.set(d.gateway, (devicesPerGateway.get(d.gateway) ?? 0) + 1);
  const fleetCap = Math.max(250, ...devicesPerGateway.values());
  const nodeCount = opts.nodes ?? 1;
  const ownRedis = opts.redisUrl === undefined && nodeCount > 1 ? await startOwnRedis() : undefined;
  const redisUrl = opts.redisUrl ?? ownRedis?.url;
  const startingCloud = startCloud({
    store: opts.store,
    credentialsFile,
    // Broker state (retained desired configs and states) and ingest's spool survive a restart.
    dataDir: join(opts.dataDir, 'cloud'),
    inventory: parseInventory(inventoryForCity(generated), 'city inventory'),
    host,
    mqttPort: opts.mqttPort ?? 0,
    httpPort: opts.httpPort ?? 0,
    service,
    clock,
    logger,
    // The dashboard's tokens and the first run's admin-token sit at the top of the data dir, where
    // `poste-dashboard token create --data-dir DIR` (POSTE_DATA) finds them. Aggregate figures stay
    // public on this loopback demo; everything else needs a token.
    dashboardDataDir: opts.dataDir,
    publicReads: true,
    ingest: { fleet: { maxDevicesPerGateway: fleetCap } },
    ...(redisUrl !== undefined ? { cluster: { redisUrl } } : {}),
  });
  const cloud = await startingCloud.catch(async (err: unknown) => {
    await ownRedis?.stop();
    throw err;
  });
  const { broker, ingest, fleetTracker, api, mqttUrl, dashboardUrl } = cloud;
  const nodes: ClusterNode[] = [];
  let nodeUrls: string[] = [mqttUrl];
  // Written and refused for good, over every node's ingest.
  const ingestTotals = (): { pointsWritten: number; rejected: number } => {
    const t = ingest.stats();
    let pointsWritten = t.pointsWritten;
    let rejected = t.rejected;
    for (const n of nodes) {
      const s = n.ingest.stats();
      pointsWritten += s.pointsWritten;
      rejected += s.rejected;
    }
    return { pointsWritten, rejected };
  };
  const speed = generated.scenario.speed;
  const perSession = opts.devicesPerSession ?? 1;

  const agents = new Map<string, Agent>();
  let fleet: DeviceFleet | undefined;
  // One sim step releases every reading due in it at once (100,000 luminaires: ~16,700 per 10 s
  // step): the default bound leaves room for three steps' worth, at least 5,000.
  const perStep = (generated.devices.length * generated.scenario.stepS) / generated.scenario.reportIntervalS;
  const maxInFlight = opts.maxReadingsInFlight ?? Math.max(5_000, Math.ceil(3 * perStep));
  // Released by the devices in this run minus what ingest has settled (written or refused for good).
  const inFlight = (): number => {
    if (!fleet) return 0;
    const s = ingestTotals();
    return fleet.counters.telemetry + fleet.counters.events - s.pointsWritten - s.rejected;
  };
  try {
    for (let i = 1; i < nodeCount; i++) {
      nodes.push(
        await startClusterNode({
          index: i,
          redisUrl: redisUrl!,
          credentialsFile,
          store: opts.store,
          dataDir: join(opts.dataDir, 'cloud', `node-${i}`),
          host,
          clock,
          logger,
          registry: cloud.metricsRegistry,
          maxDevicesPerGateway: fleetCap,
        }),
      );
    }
    nodeUrls = [mqttUrl, ...nodes.map((n) => n.mqttUrl)];
    for (const gw of generated.gateways) {
      const agent = await startAgent({
        gatewayId: gw.id,
        // A cluster's nodes as a list: each gateway starts on one (by its id) and fails over to the others.
        north: {
          url: nodeUrls.length > 1 ? nodeUrls : mqttUrl,
          username: gw.id,
          password: secrets.gateways[gw.id],
          // A large city's first minutes are a storm (every device's birth, retained, through one
          // broker): a PINGRESP queued behind a gateway's own births must not end its link.
          keepaliveS: perSession > 1 ? 120 : 30,
        },
        configVersion: 2,
        adapters: [
          {
            kind: 'poste',
            host: '127.0.0.1',
            port: 0,
            // A shared connection relays many devices: the per-client rate bound is the whole mesh's.
            ...(perSession > 1 ? { limits: { publishPerSecond: 100_000, publishBurst: 100_000 } } : {}),
          },
        ],
        dataDir: join(opts.dataDir, 'agents', gw.id),
        clock,
        logger: logger.child({ component: 'agent' }),
        // Simulated time runs fast: tick often enough that program steps land within a few sim
        // minutes; in real time once a second is as exact, at a quarter of the work per agent.
        dimming: { tickIntervalMs: speed >= 60 ? 250 : 1_000 },
        ...(opts.agentBatch ? { telemetry: opts.agentBatch } : {}),
      });
      agents.set(gw.id, agent);
    }

    fleet = new DeviceFleet({
      devices: generated.devices,
      url: (d) => `mqtt://127.0.0.1:${agents.get(d.gateway)!.localPort}`,
      clock,
      startMs: generated.startMs,
      stepS: generated.scenario.stepS,
      reportIntervalS: generated.scenario.reportIntervalS,
      onError: (err, device) => logger.warn({ device, err: err.message }, 'simulated device error'),
      holdWhile: () => inFlight() > maxInFlight,
      // Held by devices until their agent acknowledges: room for two sim steps, so a checkpoint may
      // cover more than one step (at 2,000, a 100,000-luminaire city took one step per checkpoint
      // and fell behind real time).
      maxPendingPublishes: Math.max(2_000, Math.ceil(2 * perStep)),
      ...(perSession > 1 ? { devicesPerSession: perSession, mqtt: { keepalive: 120 } } : {}),
      ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
      ...(opts.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: opts.checkpointIntervalMs } : {}),
      ...(opts.resume ? { resume: opts.resume } : {}),
    });
    // The starting state is durable before anything is published (and a resumed run's ground truth is rewritten).
    await opts.checkpoint?.(fleet.snapshot(), fleet.groundTruth());
    await fleet.start();

    if (opts.dimmingPrograms ?? true) {
      const configs = new Map(
        generated.gateways.map((g) => [
          g.id,
          { v: 1 as const, version: CITY_PROGRAM_VERSION, config: { scheduler: dimmingConfigFor(generated, g.id) } },
        ]),
      );
      await publishDesiredConfigs(mqttUrl, service, configs);
    }
  } catch (err) {
    await fleet?.stop().catch(() => undefined);
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => undefined)));
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await cloud.stop();
    await ownRedis?.stop();
    throw err;
  }
  const devices = fleet;
  const faults = new FaultInjector({
    target: devices,
    luminaires: generated.luminaires.map((l) => l.id),
    faultsPerHour: opts.faultsPerHour ?? 0,
    // The devices' simulated time (behind the clock under backpressure): faults follow the readings.
    now: () => devices.engine.nowMs,
    seed: generated.scenario.seed,
  });
  const faultTicker = (opts.faultsPerHour ?? 0) > 0 ? setInterval(() => faults.tick(), 1_000) : undefined;
  faultTicker?.unref();

  const status = (): CityStatus => {
    const s = ingestTotals();
    return {
      simTime: clock.now(),
      devicesConnected: generated.devices.filter((d) => devices.isConnected(d.id)).length,
      devices: generated.devices.length,
      readingsPublished: devices.counters.telemetry,
      heldByDevices: devices.pendingPublishes,
      simLagMs: Math.max(0, clock.now() - devices.engine.nowMs),
      pointsWritten: s.pointsWritten,
      rejected: s.rejected,
      agentsOnline: [...agents.values()].filter((a) => a.northConnected).length,
      faultsInjected: faults.injected,
    };
  };

  const settle = async (simMs: number, timeoutMs = 120_000): Promise<void> => {
    // Devices never step past the clock: settling on a future instant would wait forever.
    if (clock.now() < simMs)
      throw new Error(
        `city.settle: clock is at ${new Date(clock.now()).toISOString()}, before ${new Date(simMs).toISOString()}; advance it first`,
      );
    await devices.runUntil(simMs);
    const expected = devices.counters.telemetry + devices.counters.events;
    for (const a of agents.values()) a.flush();
    await waitUntil(
      'every reading to reach the store',
      () => {
        const s = ingestTotals();
        return s.pointsWritten + s.rejected >= expected;
      },
      timeoutMs,
    );
    await Promise.all([ingest.flush(), ...nodes.map((n) => n.ingest.flush())]);
  };

  let stopping: Promise<CityStopReport> | undefined;
  const stop = (stopOpts: CityStopOptions = {}): Promise<CityStopReport> => {
    if (faultTicker) clearInterval(faultTicker);
    stopping ??= stopWithin(stopOpts.deadlineMs ?? 8_000, [
      // Devices get 2 s at most for the agents to acknowledge what they computed; the rest stays held.
      { name: 'devices', share: 0.35, run: (ms) => devices.stop({ drainMs: Math.min(2_000, ms / 2) }) },
      { name: 'agents', share: 0.5, run: () => Promise.all([...agents.values()].map((a) => a.stop())) },
      ...(nodes.length > 0 ? [{ name: 'broker nodes', share: 0.5, run: () => Promise.all(nodes.map((n) => n.stop())) }] : []),
      { name: 'cloud', share: 1, run: () => cloud.stop() },
      // The city's own Redis goes last, and always: no redis-server is left behind.
      ...(ownRedis ? [{ name: 'redis-server', share: 1, run: () => ownRedis.stop() }] : []),
    ]);
    return stopping;
  };

  return {
    generated,
    cloud,
    clock,
    broker,
    ingest,
    agents,
    fleet: devices,
    fleetTracker,
    api,
    dashboardUrl,
    mqttUrl,
    nodes,
    nodeUrls,
    redis: redisUrl !== undefined ? { url: redisUrl, own: ownRedis } : undefined,
    status,
    settle,
    stop,
  };
}
