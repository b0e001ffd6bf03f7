// The fault rig: real processes end to end — influxd, the broker with ingest (`poste-broker serve`,
// a child process), one agent (`poste-agent --config`, a child process) whose uplink goes through a
// cuttable TCP relay, and a fleet of simulated devices in this process on an accelerated clock.
// Scenarios break one part at a time and then account for every reading (accounting.ts).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addGateway, addService } from '@poste/broker';
import { DeviceFleet, SimClock, type SimFault } from '@poste/simulators';
import { startTsChild, type RunningChild } from '../harness/child-process';
import { freePort } from '../harness/free-port';
import { removeWithTestProcess } from '../harness/children';
import { startInfluxDB, type RunningInfluxDB } from '../harness/influxdb';
import { untilDoneOrStalled } from '../harness/progress';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy';
import { accountReadings, storedCounts, type Accounting, type ExpectedEvent } from './accounting';
import { faultCity, GATEWAY, MUNICIPALITY, REPORT_INTERVAL_S, STEP_S } from './fleet';

export interface RigOptions {
  /** names the temp directory */
  name: string;
  /** simulated seconds per real second (default 900: a simulated hour in 4 s) */
  speed?: number;
  /** influxd's directory (e.g. a small tmpfs to fill up); default a directory in the rig's temp dir */
  influxDir?: string;
  /** the agent's reconnect backoff towards the broker, real ms */
  agentReconnect?: { initialDelayMs: number; maxDelayMs: number };
}

export interface Rig {
  readonly influx: RunningInfluxDB;
  readonly database: string;
  readonly proxy: TcpProxy;
  readonly fleet: DeviceFleet;
  readonly clock: SimClock;
  readonly startMs: number;
  readonly brokerUrl: string;
  readonly service: { username: string; password: string };
  /** the agent's data directory (agent-state.json, its spool) */
  readonly agentDataDir: string;
  broker(): RunningChild;
  agent(): RunningChild | undefined;
  /** events the scenario made devices raise, to be found in the store exactly once */
  readonly events: ExpectedEvent[];
  /**
   * Resolves once the fleet has simulated `offsetMs` past the start; fails when neither sim time
   * nor the devices' publishes in flight moved for `stallMs` (default 60 s).
   */
  untilSim(offsetMs: number, stallMs?: number): Promise<void>;
  startAgent(): Promise<RunningChild>;
  killAgent(): Promise<void>;
  startBroker(): Promise<RunningChild>;
  killBroker(): Promise<void>;
  /** Dim levels the luminaires' controllers hold right now (simulated time), as a set. */
  levels(): Set<number>;
  /** Luminaire controllers drop the agent's override (as after a controller reboot) and run their own program. */
  clearOverrides(): void;
  /** Injects (or clears) a device fault and records the event it raises. */
  fault(device: string, fault: SimFault, action: 'inject' | 'clear'): void;
  /**
   * Runs the fleet to `endOffsetMs`, waits until every device's readings are acknowledged by the
   * agent (failing if that stops moving for a minute) and ingest has caught up (or the store's
   * count stopped growing for `settleStallMs`), then accounts for every reading.
   */
  finish(endOffsetMs: number, settleStallMs?: number): Promise<Accounting>;
  /** Everything the children printed, for a failing assertion's message. */
  logs(): string;
  stop(): Promise<void>;
}

const AGENT_ENTRY = 'agent/src/cli.ts';
/**
 * Bounds on a child printing its ready line: node + tsx start in a second on a quiet machine and in
 * tens of seconds at a load of 15 on 2 cores; a line that never comes fails a test after this.
 * A child that exits fails the wait at once.
 */
const START_LINE_MS = 120_000;
/** Bound on the agent reconnecting north once its uplink is back (its backoff is 2 s at most). */
export const RECONNECT_LINE_MS = 60_000;
/** How long the fleet, the agent or ingest may make no progress at all before a wait fails. */
const STALL_MS = 60_000;
const BROKER_ENTRY = 'broker/src/cli.ts';

/**
 * The last lines of a child's log with runs of the same message collapsed ("×n"), so a failure
 * message shows each process's story rather than one repeated warning.
 */
function logTail(output: string, maxLines = 25): string {
  const out: { key: string; line: string; n: number }[] = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const key = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line;
    const last = out[out.length - 1];
    if (last && last.key === key) last.n++;
    else out.push({ key, line: line.slice(0, 400), n: 1 });
  }
  return out
    .slice(-maxLines)
    .map((x) => (x.n > 1 ? `${x.line}  (×${x.n})` : x.line))
    .join('\n');
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const root = await mkdtemp(join(tmpdir(), `poste-fault-${options.name}-`));
  const scratch = removeWithTestProcess(root);
  const brokerDir = join(root, 'broker');
  const agentDir = join(root, 'agent');
  const agentDataDir = join(agentDir, 'data');
  await mkdir(join(brokerDir, 'data'), { recursive: true });
  await mkdir(agentDataDir, { recursive: true });
  const credentialsFile = join(brokerDir, 'credentials.json');
  const gatewayPassword = await addGateway(credentialsFile, GATEWAY, MUNICIPALITY);
  const service = { username: 'fault-rig', password: await addService(credentialsFile, 'fault-rig') };

  // influxd's files under the rig's dir by default, so that one removal (ours, or the guard's after a
  // killed test process) leaves nothing behind.
  const influxDir = options.influxDir ?? join(root, 'influxdb');
  await mkdir(influxDir, { recursive: true });
  const influx = await startInfluxDB({ dir: influxDir });
  const database = 'poste_fault';
  const brokerPort = await freePort();
  const lanPort = await freePort();
  const proxy = await startTcpProxy(brokerPort);
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
  const childLogs: string[] = [];
  let broker: RunningChild | undefined;
  let agent: RunningChild | undefined;

  const startBroker = async (): Promise<RunningChild> => {
    const child = startTsChild(
      BROKER_ENTRY,
      [
        'serve',
        '--credentials',
        credentialsFile,
        '--store',
        `influxdb1:${influx.url}/${database}`,
        '--port',
        String(brokerPort),
        '--data',
        join(brokerDir, 'data'),
      ],
      { POSTE_LOG_LEVEL: 'info' },
    );
    broker = child;
    await child.waitForLine(/poste-broker listening/, START_LINE_MS);
    return child;
  };

  const agentConfig = join(agentDir, 'agent.json');
  await writeFile(
    agentConfig,
    JSON.stringify({
      configVersion: 2,
      gatewayId: GATEWAY,
      north: {
        url: `mqtt://127.0.0.1:${proxy.port}`,
        username: GATEWAY,
        password: gatewayPassword,
        keepaliveS: 5,
        connectTimeoutMs: 2_000,
        reconnect: options.agentReconnect ?? { initialDelayMs: 200, maxDelayMs: 2_000 },
      },
      adapters: [{ kind: 'poste', port: lanPort }],
      telemetry: { batchMaxReadings: 500, batchMaxDelayMs: 200 },
      dataDir: agentDataDir,
      logLevel: 'info',
      // Short leases (wall-clock ms) so a scheduler program in force shows as renewals every few seconds.
      dimming: { tickIntervalMs: 250, leaseMs: 6_000 },
    }),
  );
  const startAgent = async (): Promise<RunningChild> => {
    const child = startTsChild(AGENT_ENTRY, ['--config', agentConfig]);
    agent = child;
    await child.waitForLine(/agent started/, START_LINE_MS);
    return child;
  };

  await startBroker();
  await startAgent();
  await agent!.waitForLine(/north link connected/, RECONNECT_LINE_MS);

  const city = faultCity();
  const speed = options.speed ?? 900;
  const clock = SimClock.accelerated(city.startMs, speed);
  const fleet = new DeviceFleet({
    devices: city.devices,
    url: `mqtt://127.0.0.1:${lanPort}`,
    clock,
    startMs: city.startMs,
    stepS: STEP_S,
    reportIntervalS: REPORT_INTERVAL_S,
    // Devices retry fast: the agent restarting must not cost the scenario seconds of idle devices.
    mqtt: { reconnectPeriod: 200, connectTimeout: 2_000 },
  });
  await fleet.start();
  const events: ExpectedEvent[] = [];

  // What moves while the scenario runs: sim time, and readings leaving the devices' hands.
  const fleetProgress = (): string =>
    `sim +${((fleet.engine.nowMs - city.startMs) / 60_000).toFixed(1)} min, ${fleet.pendingPublishes} publishes pending`;
  const disconnected = (): string => {
    const off = fleet.engine.devices.filter((d) => !fleet.isConnected(d.spec.id)).map((d) => d.spec.id);
    return `devices without a session: ${off.length === 0 ? 'none' : off.slice(0, 5).join(', ')}${off.length > 5 ? ` and ${off.length - 5} more` : ''}`;
  };

  const rememberLogs = (c: RunningChild | undefined, what: string): void => {
    if (c) childLogs.push(`--- ${what} (pid ${c.pid}) ---\n${logTail(c.output())}`);
  };

  return {
    influx,
    database,
    proxy,
    fleet,
    clock,
    startMs: city.startMs,
    brokerUrl,
    service,
    agentDataDir,
    events,
    broker: () => broker!,
    agent: () => agent,
    untilSim: (offsetMs, stallMs = STALL_MS) =>
      untilDoneOrStalled({
        what: `the fleet reaching simulated +${offsetMs / 60_000} min`,
        done: () => fleet.engine.nowMs >= city.startMs + offsetMs,
        progress: fleetProgress,
        stallMs,
        intervalMs: 20,
        describe: disconnected,
      }),
    startAgent,
    async killAgent() {
      await agent?.kill();
      rememberLogs(agent, 'agent (SIGKILLed)');
      agent = undefined;
    },
    startBroker,
    async killBroker() {
      await broker?.kill();
      rememberLogs(broker, 'broker (SIGKILLed)');
    },
    levels() {
      const at = fleet.engine.nowMs;
      return new Set(city.luminaires.map((l) => fleet.engine.luminaire(l.id).controller.levelAt(at)));
    },
    clearOverrides() {
      for (const l of city.luminaires) fleet.engine.luminaire(l.id).controller.clearOverride();
    },
    fault(device, fault, action) {
      const luminaire = fleet.engine.luminaire(device);
      const wasActive = luminaire.model.hasFault(fault as never);
      if (action === 'inject') fleet.injectFault(device, fault);
      else fleet.clearFault(device, fault);
      // A luminaire fault raises an event when its state changes (counter resets and supply loss raise none).
      if (fault !== 'counterReset' && fault !== 'supplyLoss' && wasActive !== (action === 'inject')) {
        events.push({ device, type: fault, active: action === 'inject', ts: fleet.engine.nowMs });
      }
    },
    async finish(endOffsetMs, settleStallMs = 30_000) {
      // runUntil resolves once every reading is acknowledged, which a stuck agent would never do.
      let acknowledged = false;
      const run = fleet.runUntil(city.startMs + endOffsetMs).then(() => {
        acknowledged = true;
      });
      await untilDoneOrStalled({
        what: `every reading up to simulated +${endOffsetMs / 60_000} min acknowledged by the agent`,
        done: () => acknowledged,
        progress: fleetProgress,
        stallMs: STALL_MS,
        describe: disconnected,
      });
      await run;
      const produced = fleet.engine.devices.reduce(
        (n, d) => n + (d.spec.kind === 'luminaire' ? fleet.engine.luminaire(d.spec.id).ledger.reports : fleet.engine.ap(d.spec.id).reports),
        0,
      );
      const want = produced + events.length;
      // Ingest catching up: stop waiting once the store holds every reading, or once its count has
      // stopped growing (then the accounting below names what is missing).
      let stored = 0;
      await untilDoneOrStalled({
        what: 'the store holding every reading',
        done: async () => {
          const c = await storedCounts(influx.url, database).catch(() => undefined);
          if (c) stored = c.luminaire + c.ap + c.event;
          return stored >= want;
        },
        progress: () => stored,
        stallMs: settleStallMs,
        intervalMs: 250,
      }).catch(() => {});
      return accountReadings({ influxUrl: influx.url, database, fleet, events });
    },
    logs() {
      const live = [
        broker && `--- broker (pid ${broker.pid}) ---\n${logTail(broker.output())}`,
        agent && `--- agent (pid ${agent.pid}) ---\n${logTail(agent.output())}`,
      ];
      return [...childLogs, ...live.filter((x): x is string => typeof x === 'string')].join('\n');
    },
    async stop() {
      await fleet.stop().catch(() => {});
      await agent?.stop().catch(() => {});
      await broker?.stop().catch(() => {});
      await proxy.close();
      await influx.stop();
      await rm(root, { recursive: true, force: true });
      scratch.forget();
    },
  };
}
