#!/usr/bin/env node
// `npm start` / poste-city: the city in a box. Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage error.
// The only place the city reads the environment (parseCityCommandLine gets process.env from here).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCityScenario, SimClock } from '@poste/simulators';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { pino } from 'pino';
import { startCity, type City } from './city';
import { CITY_HELP, parseCityCommandLine, UsageError, type CityCliConfig } from './cli-config';

function usage(message: string): never {
  process.stderr.write(`poste city: ${message}\n\nRun npm start -- --help for usage.\n`);
  process.exit(2);
}

interface SavedState {
  simTimeMs: number;
}

async function readState(file: string): Promise<SavedState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<SavedState>;
    return typeof parsed.simTimeMs === 'number' && Number.isFinite(parsed.simTimeMs) ? { simTimeMs: parsed.simTimeMs } : undefined;
  } catch {
    return undefined;
  }
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
  const { dataDir, speed, host, httpPort, mqttPort } = config;
  let logger;
  try {
    logger = pino({ level: config.logLevel });
  } catch (err) {
    usage(`POSTE_LOG_LEVEL: ${(err as Error).message}`);
  }

  await mkdir(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'city-state.json');
  const saved = config.fresh ? undefined : await readState(stateFile);
  const startMs = saved?.simTimeMs ?? Date.parse(defaultCityScenario.start);
  const scenario = { ...defaultCityScenario, speed, start: new Date(startMs).toISOString() };

  let store: TelemetryStore;
  try {
    store = await openStore(config.store);
  } catch (err) {
    process.stderr.write(`poste city: cannot open the ${config.store.kind} store: ${(err as Error).message}\n`);
    if (config.store.kind !== 'embedded') process.stderr.write('Is the database running at that URL? Unset POSTE_INFLUX_URL / INFLUX_URL (or --store) to use the embedded store.\n');
    process.exit(1);
  }

  let city: City;
  try {
    city = await startCity({ scenario, dataDir, store, clock: SimClock.accelerated(startMs, speed), host, mqttPort, httpPort, logger });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EADDRINUSE' ? ' — another program uses that port: set POSTE_PORT / POSTE_MQTT_PORT (or --port / --mqtt-port)' : '';
    process.stderr.write(`poste city: failed to start: ${e.message}${hint}\n`);
    await store.close();
    process.exit(1);
  }

  const tz = city.generated.municipalities[0]?.timeZone ?? 'America/Sao_Paulo';
  const g = city.generated;
  process.stdout.write(
    [
      `Poste city running — ${g.municipalities.map((m) => m.name).join(', ')}: ${g.gateways.length} gateways, ${g.luminaires.length} luminaires, ${g.aps.length} APs`,
      `  dashboard  ${city.dashboardUrl.replace(/\/$/, '')}`,
      `  mqtt       ${city.mqttUrl}  (credentials in ${join(dataDir, 'credentials.json')})`,
      `  store      ${config.storeLabel}`,
      `  sim time   ${fmtSim(city.clock.now(), tz)} (${tz}), ${speed}× real time${saved ? ', resumed from the previous run' : ''}`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  const saveState = () => writeFile(stateFile, `${JSON.stringify({ simTimeMs: city.clock.now() })}\n`).catch(() => {});
  const tty = process.stdout.isTTY;
  const ticker = setInterval(() => {
    const s = city.status();
    const line = `sim ${fmtSim(s.simTime, tz)} · devices ${s.devicesConnected}/${s.devices} · gateways ${s.agentsOnline}/${g.gateways.length} · readings ${s.readingsPublished} · points written ${s.pointsWritten}${s.rejected ? ` · rejected ${s.rejected}` : ''}`;
    process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    void saveState();
  }, tty ? 1_000 : 10_000);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write(`\n${signal} again: exiting without a clean stop\n`);
      process.exit(130);
    }
    stopping = true;
    clearInterval(ticker);
    process.stdout.write(`\n${signal}: stopping — devices, agents, dashboard, ingest, broker…\n`);
    try {
      await saveState();
      await city.stop();
      await store.close();
      process.stdout.write(`stopped cleanly; data kept in ${dataDir}\n`);
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
