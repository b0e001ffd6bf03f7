import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseStoreSpec, storeSpecHelp, type StoreConfig } from '@poste/telemetry-store';
import { z } from 'zod';
import { CitySizeSchema, DEFAULT_CITY_SIZE, type CitySize } from './city-size';

/** A wrong command line or environment: `npm start` prints it and exits 2. */
export class UsageError extends Error {}

const indent = '\n                    ';

export const CITY_HELP = `poste city — a whole simulated city on one machine

The cloud (broker, ingest, telemetry store, dashboard API, as poste-cloud runs it) and one gateway
agent per gateway with its simulated luminaires and access points (by default 2 municipalities,
3 gateways, 240 luminaires, 12 APs; any size with the size options below), time-accelerated. All
devices run in this one process; a progress line shows readings offered and written per second.

Usage: npm start [-- options]      (or poste-city [options])
       poste-city verify [options]  compare the store with DIR/ground-truth.json (exit 0 match, 1 not)

Options (environment variables in brackets: the POSTE_ name, then the older alias it replaces):
  --port N          dashboard HTTP port [POSTE_PORT] [PORT] (default 8080)
  --host ADDR       listen address [POSTE_HOST] [HOST] (default 127.0.0.1)
  --mqtt-port N     cloud MQTT broker port [POSTE_MQTT_PORT] [MQTT_PORT] (default 1883)
  --data DIR        data directory [POSTE_DATA] (default ./.poste-data)
  --store SPEC      telemetry store [POSTE_STORE] (default embedded:DIR/telemetry.duckdb), one of:${indent}${storeSpecHelp().join(indent)}
  --influx-url URL  use InfluxDB instead of the embedded store [POSTE_INFLUX_URL] [INFLUX_URL]
                    1.x: database [POSTE_INFLUX_DB] [INFLUX_DB] (default poste); 2.x/3.x when
                    [POSTE_INFLUX_TOKEN] [INFLUX_TOKEN], [POSTE_INFLUX_ORG] [INFLUX_ORG] and
                    [POSTE_INFLUX_BUCKET] [INFLUX_BUCKET] are set
  --speed N         simulated seconds per real second [POSTE_SPEED] [SPEED] (default 300)
  --municipalities N            municipalities (1-645)
  --gateways-per-municipality N gateways, one agent each, per municipality (1-10000)
  --luminaires-per-gateway N    luminaire controllers per gateway (0-100000)
  --aps-per-gateway N           access points per gateway (0-10000)
                    Any of these four gives a uniform city of that size (the others default
                    to 2 municipalities × 2 gateways × 100 luminaires + 4 APs); none: the fixed
                    demo city above. A checkpoint of another size is not resumed (use --fresh).
  --faults-per-hour N  luminaire faults per simulated hour across the city, each repaired 6
                    simulated hours later (default 0)
  --nodes N         broker nodes (1-16, default 1); above 1 they form a cluster on one Redis, each
                    with its own ingest into the store; every gateway is given all of them and
                    fails over [POSTE_NODES]
  --redis URL       the cluster's Redis (redis://HOST:PORT[/DB]) [POSTE_REDIS_URL]; without it,
                    --nodes N > 1 starts a redis-server of its own (loopback, ephemeral port,
                    temp dir, stopped with the city; redis-server must be installed)
  --devices-per-connection N  devices sharing one MQTT connection to their gateway, like RF-mesh
                    nodes behind a concentrator (1-10000; default 1 up to 5,000 devices in the
                    city, else 500: a process has only so many sockets)
  --fresh           forget the previous run's checkpoint (simulated time, device counters, ground
                    truth) and start the scenario over
  -h, --help        this text

Logs: POSTE_LOG_LEVEL=info|debug (default warn). Stop with Ctrl-C (within 10 s; twice: at once).
The devices' state and the simulated time are checkpointed in DIR/city-checkpoint.json, what they
produced in DIR/ground-truth.json: a restart (even after kill -9) continues from there.
Exit codes: 0 stopped cleanly, 1 runtime failure (store unreachable, port in use), 2 usage error.`;

export interface CityCliConfig {
  /** `run` the city (default) or `verify` the store against the ground truth. */
  command: 'run' | 'verify';
  httpPort: number;
  mqttPort: number;
  host: string;
  dataDir: string;
  speed: number;
  fresh: boolean;
  store: StoreConfig;
  /** how the store is shown in the start-up summary */
  storeLabel: string;
  logLevel: string;
  /** a uniform city of this size; undefined: the fixed demo city */
  size: CitySize | undefined;
  faultsPerHour: number;
  /** broker nodes (1: no cluster unless `redisUrl`) */
  nodes: number;
  /** the cluster's Redis; undefined: started by the city when nodes > 1 */
  redisUrl: string | undefined;
  /** devices per MQTT connection; undefined: by the city's size (devicesPerConnectionFor) */
  devicesPerConnection: number | undefined;
}

/** Up to this many devices, each has its own connection (and will); beyond, they share. */
const OWN_CONNECTION_UP_TO = 5_000;
const SHARED_CONNECTION_SIZE = 500;

/** The default of --devices-per-connection for a city of `devices` devices. */
export function devicesPerConnectionFor(devices: number): number {
  return devices <= OWN_CONNECTION_UP_TO ? 1 : SHARED_CONNECTION_SIZE;
}

function clusterOf(values: Record<string, string | boolean | undefined>, env: Env) {
  const nodesSetting = setting(env, values.nodes as string | undefined, '--nodes', 'POSTE_NODES');
  const nodes = z
    .number()
    .int()
    .min(1)
    .max(16)
    .safeParse(nodesSetting.value === undefined ? 1 : numberFlag(nodesSetting.value));
  if (!nodes.success)
    throw new UsageError(
      `${nodesSetting.source}: ${nodes.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(nodesSetting.value)})`,
    );
  const redis = setting(env, values.redis as string | undefined, '--redis', 'POSTE_REDIS_URL');
  if (redis.value !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redis.value))
    throw new UsageError(
      `${redis.source}: a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0 (got ${JSON.stringify(redis.value)})`,
    );
  const perText = values['devices-per-connection'];
  let devicesPerConnection: number | undefined;
  if (typeof perText === 'string') {
    const per = z.number().int().min(1).max(10_000).safeParse(numberFlag(perText));
    if (!per.success)
      throw new UsageError(`--devices-per-connection: ${per.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(perText)})`);
    devicesPerConnection = per.data;
  }
  return { nodes: nodes.data, redisUrl: redis.value, devicesPerConnection };
}

const SIZE_FLAGS = {
  municipalities: 'municipalities',
  gatewaysPerMunicipality: 'gateways-per-municipality',
  luminairesPerGateway: 'luminaires-per-gateway',
  apsPerGateway: 'aps-per-gateway',
} as const satisfies Record<keyof CitySize, string>;

/** A number flag as zod sees it: the text must be a plain decimal number. */
const numberFlag = (v: string): number => (/^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : Number.NaN);

function sizeOf(values: Record<string, string | boolean | undefined>): { size: CitySize | undefined; faultsPerHour: number } {
  const given = Object.entries(SIZE_FLAGS).filter(([, flag]) => typeof values[flag] === 'string');
  const faultsText = values['faults-per-hour'];
  const faults = z
    .number()
    .min(0)
    .max(1_000_000)
    .safeParse(typeof faultsText === 'string' ? numberFlag(faultsText) : 0);
  if (!faults.success)
    throw new UsageError(`--faults-per-hour: ${faults.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(faultsText)})`);
  if (given.length === 0) return { size: undefined, faultsPerHour: faults.data };
  const input: Record<string, number> = { ...DEFAULT_CITY_SIZE };
  for (const [key, flag] of given) input[key] = numberFlag(values[flag] as string);
  const r = CitySizeSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const flag = SIZE_FLAGS[issue.path[0] as keyof CitySize];
    throw new UsageError(
      `--${flag ?? issue.path.join('.')}: ${issue.message}${flag && typeof values[flag] === 'string' ? ` (got ${JSON.stringify(values[flag])})` : ''}`,
    );
  }
  return { size: r.data, faultsPerHour: faults.data };
}

type Env = Readonly<Record<string, string | undefined>>;

/** The first of the names that is set: the POSTE_ name first, then its alias. */
function fromEnv(env: Env, ...names: string[]): string | undefined {
  return setting(env, undefined, '', ...names).value;
}

/** A setting from its flag, else the first environment variable set; `source` names where it came from, for messages. */
function setting(env: Env, flagValue: string | undefined, flag: string, ...names: string[]): { value: string | undefined; source: string } {
  if (flagValue !== undefined) return { value: flagValue, source: flag };
  for (const n of names) if (env[n] !== undefined) return { value: env[n], source: `${flag} / ${n}` };
  return { value: undefined, source: flag };
}

function port({ value, source }: { value: string | undefined; source: string }, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new UsageError(`${source} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  return n;
}

function influxConfig(url: string, env: Env): StoreConfig {
  const token = fromEnv(env, 'POSTE_INFLUX_TOKEN', 'INFLUX_TOKEN');
  if (token) {
    const org = fromEnv(env, 'POSTE_INFLUX_ORG', 'INFLUX_ORG');
    const bucket = fromEnv(env, 'POSTE_INFLUX_BUCKET', 'INFLUX_BUCKET');
    if (!org || !bucket)
      throw new UsageError('POSTE_INFLUX_TOKEN (INFLUX_TOKEN) needs POSTE_INFLUX_ORG and POSTE_INFLUX_BUCKET (InfluxDB 2.x/3.x)');
    return { kind: 'influxdb2', url, token, org, bucket };
  }
  return { kind: 'influxdb1', url, database: fromEnv(env, 'POSTE_INFLUX_DB', 'INFLUX_DB') || 'poste' };
}

function storeOf(
  dataDir: string,
  spec: string | undefined,
  influxUrl: string | undefined,
  env: Env,
): { store: StoreConfig; storeLabel: string } {
  if (spec && influxUrl) throw new UsageError('give either --store (POSTE_STORE) or --influx-url (POSTE_INFLUX_URL), not both');
  if (spec) {
    try {
      return { store: parseStoreSpec(spec), storeLabel: spec };
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (influxUrl) {
    const store = influxConfig(influxUrl, env);
    return { store, storeLabel: `${store.kind} ${influxUrl}` };
  }
  const path = join(dataDir, 'telemetry.duckdb');
  return { store: { kind: 'embedded', path }, storeLabel: `embedded ${path}` };
}

/** `npm start`'s flags and environment, validated; `help` when the help text was asked for. */
export function parseCityCommandLine(argv: string[], env: Env): CityCliConfig | 'help' {
  const parse = () => {
    try {
      return parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          'mqtt-port': { type: 'string' },
          data: { type: 'string' },
          store: { type: 'string' },
          'influx-url': { type: 'string' },
          speed: { type: 'string' },
          fresh: { type: 'boolean' },
          municipalities: { type: 'string' },
          'gateways-per-municipality': { type: 'string' },
          'luminaires-per-gateway': { type: 'string' },
          'aps-per-gateway': { type: 'string' },
          'faults-per-hour': { type: 'string' },
          nodes: { type: 'string' },
          redis: { type: 'string' },
          'devices-per-connection': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const { values, positionals } = parse();
  if (values.help) return 'help';
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'verify')) {
    throw new UsageError(`unknown command ${JSON.stringify(positionals.join(' '))}: the only command is verify`);
  }
  const command = positionals[0] === 'verify' ? 'verify' : 'run';
  const httpPort = port(setting(env, values.port, '--port', 'POSTE_PORT', 'PORT'), 8080);
  const mqttPort = port(setting(env, values['mqtt-port'], '--mqtt-port', 'POSTE_MQTT_PORT', 'MQTT_PORT'), 1883);
  const host = values.host ?? fromEnv(env, 'POSTE_HOST', 'HOST') ?? '127.0.0.1';
  const dataDir = resolve(values.data ?? env.POSTE_DATA ?? '.poste-data');
  const speedSetting = setting(env, values.speed, '--speed', 'POSTE_SPEED', 'SPEED');
  const speedRaw = speedSetting.value ?? '300';
  const speed = Number(speedRaw);
  if (!Number.isFinite(speed) || speed <= 0 || speed > 100_000)
    throw new UsageError(`${speedSetting.source} must be a number in (0, 100000], got ${speedRaw}`);
  const { store, storeLabel } = storeOf(
    dataDir,
    values.store ?? env.POSTE_STORE,
    values['influx-url'] ?? fromEnv(env, 'POSTE_INFLUX_URL', 'INFLUX_URL'),
    env,
  );
  return {
    command,
    httpPort,
    mqttPort,
    host,
    dataDir,
    speed,
    fresh: values.fresh === true,
    store,
    storeLabel,
    logLevel: env.POSTE_LOG_LEVEL ?? 'warn',
    ...sizeOf(values),
    ...clusterOf(values, env),
  };
}
