#!/usr/bin/env node
// `npm start` / poste-city: the city in a box. Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage error.
// `poste-city verify`: the store against ground-truth.json, exit 0 match, 1 mismatch.
// The only place the city reads the environment (parseCityCommandLine gets process.env from here).
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCityScenario, SimClock, type CityScenarioInput } from '@poste/simulators';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { pino, type Logger } from 'pino';
import {
  CHECKPOINT_FILE,
  GROUND_TRUTH_FILE,
  readCityCheckpoint,
  readGroundTruth,
  writeCityCheckpoint,
  type CityCheckpoint,
} from './checkpoint';
import { startCity, type City } from './city';
import { type DashboardDemo, startDashboardDemo } from './dashboard-demo';
import { sizedCityScenario } from './city-size';
import { CITY_HELP, devicesPerConnectionFor, parseCityCommandLine, UsageError, type CityCliConfig } from './cli-config';
import { RedisServerMissing } from './redis-server';
import { verifyAgainstGroundTruth } from './verify';

/**
 * A checkpoint holds every device: at 100,000 devices it is tens of MB of JSON. Its least interval
 * grows with the city (100 ms per 1,000 devices) so that writing it stays a small share of the
 * process's time; readings wait for the checkpoint that covers them, so no longer than that.
 */
function checkpointIntervalFor(devices: number): number {
  return Math.max(200, Math.round(devices / 10));
}

/** The whole Ctrl-C stop (devices, agents, cloud, store) fits in this, so the process exits within 10 s. */
const STOP_DEADLINE_MS = 5_000;
const STORE_CLOSE_MS = 1_000;

function usage(message: string): never {
  process.stderr.write(`poste city: ${message}\n\nRun npm start -- --help for usage.\n`);
  process.exit(2);
}

async function openConfiguredStore(config: CityCliConfig): Promise<TelemetryStore> {
  try {
    return await openStore(config.store);
  } catch (err) {
    process.stderr.write(`poste city: cannot open the ${config.store.kind} store: ${(err as Error).message}\n`);
    if (config.store.kind !== 'embedded')
      process.stderr.write(
        'Is the database running at that URL? Unset POSTE_INFLUX_URL / INFLUX_URL (or --store) to use the embedded store.\n',
      );
    process.exit(1);
  }
}

async function verify(config: CityCliConfig): Promise<void> {
  let gt: Awaited<ReturnType<typeof readGroundTruth>>;
  try {
    gt = await readGroundTruth(config.dataDir);
  } catch (err) {
    process.stderr.write(
      `poste city verify: ${(err as Error).message}\n(no ${GROUND_TRUTH_FILE}? run the city on this data directory first)\n`,
    );
    process.exit(1);
  }
  const store = await openConfiguredStore(config);
  try {
    const v = await verifyAgainstGroundTruth(store, gt);
    process.stdout.write(`store ${config.storeLabel}\n${v.lines.join('\n')}\n`);
    await store.close();
    process.exit(v.ok ? 0 : 1);
  } catch (err) {
    process.stderr.write(`poste city verify: ${(err as Error).message}\n`);
    await store.close().catch(() => {});
    process.exit(1);
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The previous run's checkpoint (undefined with --fresh or on a first run); a damaged one stops the start with a hint. */
async function previousCheckpoint(config: CityCliConfig): Promise<CityCheckpoint | undefined> {
  if (config.fresh) return undefined;
  let saved: CityCheckpoint | undefined;
  try {
    saved = await readCityCheckpoint(config.dataDir);
  } catch (err) {
    process.stderr.write(`poste city: cannot resume: ${(err as Error).message}\nStart over with --fresh (the store keeps its data).\n`);
    process.exit(1);
  }
  const seed = scenarioOf(config).seed;
  if (saved && saved.seed !== seed) {
    process.stderr.write(
      `poste city: ${join(config.dataDir, CHECKPOINT_FILE)} is from a scenario with seed ${saved.seed} (another city size?), not ${seed}; start over with --fresh\n`,
    );
    process.exit(1);
  }
  if (!saved && (await exists(join(config.dataDir, 'city-state.json')))) {
    process.stdout.write(
      "city-state.json (an older version's simulated time, without device counters) is ignored: the scenario starts over\n",
    );
  }
  return saved;
}

/** The demo city, or a uniform city of the size given on the command line. */
function scenarioOf(config: CityCliConfig): CityScenarioInput {
  return config.size ? sizedCityScenario(config.size) : defaultCityScenario;
}

function fmtSim(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('pt-BR', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(ms);
}

async function main(): Promise<void> {
  let config: CityCliConfig | 'help';
  try {
    config = parseCityCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) usage(err.message);
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(`${CITY_HELP}\n`);
    return;
  }
  if (config.command === 'verify') return verify(config);
  const { dataDir, speed, host, httpPort, mqttPort } = config;
  let logger: Logger;
  try {
    logger = pino({ level: config.logLevel });
  } catch (err) {
    usage(`POSTE_LOG_LEVEL: ${(err as Error).message}`);
  }

  await mkdir(dataDir, { recursive: true });
  const saved = await previousCheckpoint(config);
  const base = scenarioOf(config);
  const startMs = saved?.simTimeMs ?? Date.parse(base.start);
  const scenario = { ...base, speed, start: new Date(startMs).toISOString() };
  const store = await openConfiguredStore(config);
  const deviceCount = config.size
    ? config.size.municipalities * config.size.gatewaysPerMunicipality * (config.size.luminairesPerGateway + config.size.apsPerGateway)
    : 0;

  let city: City;
  try {
    city = await startCity({
      scenario,
      dataDir,
      store,
      clock: SimClock.accelerated(startMs, speed),
      host,
      mqttPort,
      httpPort,
      logger,
      checkpoint: (fleet, truth) => writeCityCheckpoint(dataDir, base.seed, fleet, truth),
      checkpointIntervalMs: checkpointIntervalFor(deviceCount),
      faultsPerHour: config.faultsPerHour,
      nodes: config.nodes,
      ...(config.redisUrl !== undefined ? { redisUrl: config.redisUrl } : {}),
      devicesPerSession: config.devicesPerConnection ?? devicesPerConnectionFor(deviceCount),
      ...(saved ? { resume: saved.fleet } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint =
      e.code === 'EADDRINUSE'
        ? ' — another program uses that port: set POSTE_PORT / POSTE_MQTT_PORT (or --port / --mqtt-port)'
        : e instanceof RedisServerMissing
          ? ''
          : config.redisUrl !== undefined && /redis|ECONNREFUSED/i.test(e.message)
            ? ` — is Redis running at --redis ${config.redisUrl}?`
            : '';
    process.stderr.write(`poste city: failed to start: ${e.message}${hint}\n`);
    await store.close();
    process.exit(1);
  }

  // Whatever way this process ends (a second Ctrl-C, the stop's safety net, a crash), the
  // redis-server it started goes with it.
  const ownRedis = city.redis?.own;
  if (ownRedis) process.on('exit', () => ownRedis.killNow());
  const tz = city.generated.municipalities[0]?.timeZone ?? 'America/Sao_Paulo';
  const g = city.generated;
  process.stdout.write(
    [
      `Poste city running — ${g.municipalities.map((m) => m.name).join(', ')}: ${g.gateways.length} gateways, ${g.luminaires.length} luminaires, ${g.aps.length} APs`,
      `  dashboard  ${city.dashboardUrl.replace(/\/$/, '')}`,
      ...(city.cloud.adminToken
        ? [
            `  admin      token ${city.cloud.adminToken.created ? 'created in' : 'in'} ${city.cloud.adminToken.file} (mode 0600): paste it into the page's login`,
          ]
        : []),
      `  mqtt       ${city.nodeUrls.join(', ')}  (credentials in ${join(dataDir, 'credentials.json')})`,
      ...(city.redis
        ? [
            `  cluster    ${city.nodeUrls.length} broker node${city.nodeUrls.length > 1 ? 's' : ''} on ${city.redis.url}${city.redis.own ? ` (redis-server pid ${city.redis.own.pid} started by the city, files in ${city.redis.own.dir}, stopped with it)` : ''}`,
          ]
        : []),
      `  store      ${config.storeLabel}`,
      `  sim time   ${fmtSim(city.clock.now(), tz)} (${tz}), ${speed}× real time${saved ? ', resumed from the previous run' : ''}`,
      `  truth      ${join(dataDir, GROUND_TRUTH_FILE)} (compare: poste-city verify)`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  // The dashboard comes alive (dashboard-demo.ts): revenue, households ceding Wi-Fi, faults at a steady rate.
  let demo: DashboardDemo | undefined;
  if (city.cloud.adminToken) {
    startDashboardDemo(city, { adminTokenFile: city.cloud.adminToken.file }).then(
      (d) => {
        demo = d;
        process.stdout.write(
          `demo: ${d.households} households ceding Wi-Fi, 12 months of CIP/COSIP revenue, a luminaire fault every 20 sim min\n`,
        );
      },
      (err: Error) => process.stderr.write(`poste city: dashboard demo data not entered: ${err.message}\n`),
    );
  }

  const tty = process.stdout.isTTY;
  // Offered (readings the devices published) against written (points in the store), per second
  // over the last interval: the two match when the city keeps up.
  let last = { at: performance.now(), offered: city.status().readingsPublished, written: city.status().pointsWritten };
  const ticker = setInterval(
    () => {
      const s = city.status();
      const at = performance.now();
      const secs = Math.max(0.001, (at - last.at) / 1000);
      const rates = `offered ${Math.round((s.readingsPublished - last.offered) / secs)}/s · written ${Math.round((s.pointsWritten - last.written) / secs)}/s`;
      last = { at, offered: s.readingsPublished, written: s.pointsWritten };
      const lag = s.simLagMs > 60_000 ? ` · devices ${Math.round(s.simLagMs / 60_000)} sim min behind (backpressure)` : '';
      const faults = s.faultsInjected ? ` · faults ${s.faultsInjected}` : '';
      const line = `sim ${fmtSim(s.simTime, tz)}${lag} · devices ${s.devicesConnected}/${s.devices} · gateways ${s.agentsOnline}/${g.gateways.length} · ${rates} · readings ${s.readingsPublished} · points written ${s.pointsWritten}${s.rejected ? ` · rejected ${s.rejected}` : ''}${faults}`;
      process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    tty ? 1_000 : 10_000,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write(`\n${signal} again: exiting without a clean stop\n`);
      process.exit(130);
    }
    stopping = true;
    clearInterval(ticker);
    demo?.stop();
    process.stdout.write(`\n${signal}: stopping — devices, agents, dashboard, ingest, broker…\n`);
    // Safety net: whatever hangs, the process is gone within 10 s; the last checkpoint is consistent anyway.
    setTimeout(
      () => {
        process.stderr.write('stop took too long: exiting; the next start resumes from the last checkpoint\n');
        process.exit(0);
      },
      STOP_DEADLINE_MS + STORE_CLOSE_MS + 2_000,
    ).unref();
    try {
      const { cutShort } = await city.stop({ deadlineMs: STOP_DEADLINE_MS });
      const closed = await Promise.race([
        store.close().then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), STORE_CLOSE_MS).unref()),
      ]);
      if (!closed) cutShort.push('store close');
      if (cutShort.length)
        process.stdout.write(
          `not finished in time: ${cutShort.join(', ')} — devices and agents keep what they did not deliver for the next start\n`,
        );
      process.stdout.write(`${cutShort.length ? 'stopped within the deadline' : 'stopped cleanly'}; data kept in ${dataDir}\n`);
      process.exit(0);
    } catch (err) {
      process.stderr.write(`stop failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`poste city: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
