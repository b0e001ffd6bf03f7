import { join } from 'node:path';
import { startAgent, type Agent } from '@poste/agent';
import { allocateBandwidth } from '@poste/agent/scheduler';
import { createBroker, createIngest, loadCredentials, type Ingest, type PosteBroker } from '@poste/broker';
import type { TelemetryStore } from '@poste/telemetry-store';
import {
  connectFleetTracker,
  createDashboardApi,
  parseInventory,
  type ConnectedFleetTracker,
  type DashboardApi,
} from '@poste/dashboard-api';
import type { Clock } from '@poste/protocol';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { DeviceFleet } from '../device-fleet';
import { generateCity, type CityScenarioInput, type GeneratedCity } from '../scenario';
import { SimClock } from '../sim-clock';
import { publishDesiredConfigs } from './desired-config';
import { CITY_PROGRAM_VERSION, dimmingConfigFor } from './dimming-programs';
import { inventoryForCity } from './inventory';
import { DASHBOARD_SERVICE_USER, provisionCredentials } from './secrets';

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
  /** Telemetry batching of the agents (default: the agent's). */
  agentBatch?: { batchMaxReadings: number; batchMaxDelayMs: number };
  /** Send the city's dimming programs to the agents (default true); without them devices run their own fallback program. */
  dimmingPrograms?: boolean;
}

export interface CityStatus {
  simTime: number;
  devicesConnected: number;
  devices: number;
  readingsPublished: number;
  pointsWritten: number;
  rejected: number;
  agentsOnline: number;
}

export interface City {
  readonly generated: GeneratedCity;
  readonly clock: Clock;
  readonly broker: PosteBroker;
  readonly ingest: Ingest;
  readonly agents: ReadonlyMap<string, Agent>;
  readonly fleet: DeviceFleet;
  readonly fleetTracker: ConnectedFleetTracker;
  readonly api: DashboardApi;
  readonly dashboardUrl: string;
  readonly mqttUrl: string;
  status(): CityStatus;
  /**
   * Stops the devices' simulated time at `simMs` and resolves once every reading up to then has
   * crossed agent → broker → ingest and is in the store: the moment to compare with ground truth.
   */
  settle(simMs: number, timeoutMs?: number): Promise<void>;
  /** Devices say goodbye, agents flush and leave, then the API, ingest and broker close. */
  stop(): Promise<void>;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`city: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Boots a whole city: broker + ingest + dashboard API, one agent per gateway, simulated devices. */
export async function startCity(opts: CityOptions): Promise<City> {
  const logger = opts.logger ?? pino({ level: process.env.POSTE_LOG_LEVEL ?? 'warn' });
  const host = opts.host ?? '127.0.0.1';
  const generated = generateCity(opts.scenario);
  const clock = opts.clock ?? SimClock.accelerated(generated.startMs, generated.scenario.speed);

  const credentialsFile = join(opts.dataDir, 'credentials.json');
  const secrets = await provisionCredentials(
    credentialsFile,
    join(opts.dataDir, 'secrets.json'),
    generated.gateways.map((g) => ({ id: g.id, municipality: g.municipality })),
  );
  const credentials = await loadCredentials(credentialsFile);

  // One registry for the whole box, so the dashboard's /metrics shows broker and ingest counters too.
  const metricsRegistry = new Registry();
  const broker = await createBroker({ credentials, registry: metricsRegistry, logger: logger.child({ component: 'broker' }) });
  const mqttPort = await broker.listen(opts.mqttPort ?? 0, host);
  const mqttUrl = `mqtt://${host}:${mqttPort}`;
  const ingest = createIngest({ broker, store: opts.store, directory: credentials.directory(), logger: logger.child({ component: 'ingest' }) });

  const agents = new Map<string, Agent>();
  for (const gw of generated.gateways) {
    const agent = await startAgent({
      gatewayId: gw.id,
      north: { url: mqttUrl, username: gw.id, password: secrets.gateways[gw.id] },
      local: { host: '127.0.0.1', port: 0 },
      dataDir: join(opts.dataDir, 'agents', gw.id),
      clock,
      logger: logger.child({ component: 'agent' }),
      // Simulated time runs fast: tick often enough that program steps land within a few sim minutes.
      dimming: { tickIntervalMs: 250 },
      ...(opts.agentBatch ? { telemetry: opts.agentBatch } : {}),
    });
    agents.set(gw.id, agent);
  }

  const fleet = new DeviceFleet({
    devices: generated.devices,
    url: (d) => `mqtt://127.0.0.1:${agents.get(d.gateway)!.localPort}`,
    clock,
    startMs: generated.startMs,
    stepS: generated.scenario.stepS,
    reportIntervalS: generated.scenario.reportIntervalS,
    // Simulated APs share their uplink with Poste's own policy (household reserve first, public
    // traffic within what the household ceded), as a real AP running the agent's plan would.
    allocate: allocateBandwidth,
    onError: (err, device) => logger.warn({ device, err: err.message }, 'simulated device error'),
  });
  await fleet.start();

  const service = { username: DASHBOARD_SERVICE_USER, password: secrets.services[DASHBOARD_SERVICE_USER]! };
  if (opts.dimmingPrograms ?? true) {
    const configs = new Map(
      generated.gateways.map((g) => [g.id, { v: 1 as const, version: CITY_PROGRAM_VERSION, config: { scheduler: dimmingConfigFor(generated, g.id) } }]),
    );
    await publishDesiredConfigs(mqttUrl, service, configs);
  }

  const fleetTracker = await connectFleetTracker({
    url: mqttUrl,
    username: DASHBOARD_SERVICE_USER,
    password: secrets.services[DASHBOARD_SERVICE_USER],
    logger: logger.child({ component: 'fleet' }),
  });
  const api = await createDashboardApi({
    store: opts.store,
    inventory: parseInventory(inventoryForCity(generated), 'city inventory'),
    fleet: fleetTracker,
    clock,
    metricsRegistry,
    logger: logger.child({ component: 'dashboard' }),
  });
  const dashboardUrl = await api.listen({ port: opts.httpPort ?? 0, host });

  const status = (): CityStatus => {
    const s = ingest.stats();
    return {
      simTime: clock.now(),
      devicesConnected: generated.devices.filter((d) => fleet.isConnected(d.id)).length,
      devices: generated.devices.length,
      readingsPublished: fleet.counters.telemetry,
      pointsWritten: s.pointsWritten,
      rejected: s.rejected,
      agentsOnline: [...agents.values()].filter((a) => a.northConnected).length,
    };
  };

  const settle = async (simMs: number, timeoutMs = 120_000): Promise<void> => {
    // Devices never step past the clock: settling on a future instant would wait forever.
    if (clock.now() < simMs) throw new Error(`city.settle: clock is at ${new Date(clock.now()).toISOString()}, before ${new Date(simMs).toISOString()}; advance it first`);
    await fleet.runUntil(simMs);
    const expected = fleet.counters.telemetry + fleet.counters.events;
    for (const a of agents.values()) a.flush();
    await waitUntil(
      'every reading to reach the store',
      () => {
        const s = ingest.stats();
        return s.pointsWritten + s.rejected >= expected;
      },
      timeoutMs,
    );
    await ingest.flush();
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await fleet.stop();
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await api.close();
    await fleetTracker.close();
    await ingest.close();
    await broker.close();
  };

  return { generated, clock, broker, ingest, agents, fleet, fleetTracker, api, dashboardUrl, mqttUrl, status, settle, stop };
}
