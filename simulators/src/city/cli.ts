#!/usr/bin/env node
// `npm start`: the city in a box. Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage error.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore, type StoreConfig, type TelemetryStore } from '@poste/telemetry-store';
import { pino } from 'pino';
import { defaultCityScenario } from '../scenario';
import { SimClock } from '../sim-clock';
import { startCity, type City } from './city';

const HELP = `poste city — a whole simulated city on one machine

Broker, ingest, telemetry store, dashboard API and one gateway agent per gateway with its simulated
luminaires and access points (2 municipalities, 3 gateways, 240 luminaires, 12 APs), time-accelerated.

Usage: npm start [-- options]

Options (environment variable in brackets):
  --port N          dashboard HTTP port [PORT] (default 8080)
  --host ADDR       listen address [HOST] (default 127.0.0.1)
  --mqtt-port N     cloud MQTT broker port [MQTT_PORT] (default 1883)
  --data DIR        data directory [POSTE_DATA] (default ./.poste-data)
  --influx-url URL  use InfluxDB instead of the embedded store [INFLUX_URL]
                    1.x: database [INFLUX_DB] (default poste); 2.x/3.x when [INFLUX_TOKEN],
                    [INFLUX_ORG] and [INFLUX_BUCKET] are set
  --speed N         simulated seconds per real second [SPEED] (default 300)
  --fresh           forget the previous run's simulated time and start the scenario over
  -h, --help        this text

Logs: POSTE_LOG_LEVEL=info|debug (default warn). Stop with Ctrl-C.`;

function usage(message: string): never {
  process.stderr.write(`poste city: ${message}\n\nRun npm start -- --help for usage.\n`);
  process.exit(2);
}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) usage(`${name} must be a port number 0-65535, got ${JSON.stringify(raw)}`);
  return n;
}

function storeConfig(dataDir: string, influxUrl: string | undefined): StoreConfig {
  if (!influxUrl) return { kind: 'embedded', path: join(dataDir, 'telemetry.duckdb') };
  const { INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET, INFLUX_DB } = process.env;
  if (INFLUX_TOKEN) {
    if (!INFLUX_ORG || !INFLUX_BUCKET) usage('INFLUX_TOKEN needs INFLUX_ORG and INFLUX_BUCKET (InfluxDB 2.x/3.x)');
    return { kind: 'influxdb2', url: influxUrl, token: INFLUX_TOKEN, org: INFLUX_ORG, bucket: INFLUX_BUCKET };
  }
  return { kind: 'influxdb1', url: influxUrl, database: INFLUX_DB || 'poste' };
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
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'mqtt-port': { type: 'string' },
        data: { type: 'string' },
        'influx-url': { type: 'string' },
        speed: { type: 'string' },
        fresh: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const env = process.env;
  const httpPort = port('--port / PORT', values.port ?? env.PORT, 8080);
  const mqttPort = port('--mqtt-port / MQTT_PORT', values['mqtt-port'] ?? env.MQTT_PORT, 1883);
  const host = values.host ?? env.HOST ?? '127.0.0.1';
  const dataDir = resolve(values.data ?? env.POSTE_DATA ?? '.poste-data');
  const speedRaw = values.speed ?? env.SPEED ?? '300';
  const speed = Number(speedRaw);
  if (!Number.isFinite(speed) || speed <= 0 || speed > 100_000) usage(`--speed / SPEED must be a number in (0, 100000], got ${speedRaw}`);
  const config = storeConfig(dataDir, values['influx-url'] ?? env.INFLUX_URL);

  await mkdir(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'city-state.json');
  const saved = values.fresh ? undefined : await readState(stateFile);
  const startMs = saved?.simTimeMs ?? Date.parse(defaultCityScenario.start);
  const scenario = { ...defaultCityScenario, speed, start: new Date(startMs).toISOString() };
  const logger = pino({ level: env.POSTE_LOG_LEVEL ?? 'warn' });

  let store: TelemetryStore;
  try {
    store = await openStore(config);
  } catch (err) {
    process.stderr.write(`poste city: cannot open the ${config.kind} store: ${(err as Error).message}\n`);
    if (config.kind !== 'embedded') process.stderr.write('Is InfluxDB running at that URL? Unset INFLUX_URL to use the embedded store.\n');
    process.exit(1);
  }

  let city: City;
  try {
    city = await startCity({ scenario, dataDir, store, clock: SimClock.accelerated(startMs, speed), host, mqttPort, httpPort, logger });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EADDRINUSE' ? ' — another program uses that port: set PORT / MQTT_PORT (or --port / --mqtt-port)' : '';
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
      `  store      ${store.kind}${config.kind === 'embedded' ? ` ${config.path}` : ` ${config.url}`}`,
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
