import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { devicesPerConnectionFor, parseCityCommandLine, UsageError, type CityCliConfig } from './cli-config';

const parse = (argv: string[], env: Record<string, string>) => parseCityCommandLine(argv, env) as CityCliConfig;

test('npm start settings: flag, then the POSTE_ variable, then the old alias, then the default', () => {
  const d = parse([], {});
  assert.deepEqual(
    { http: d.httpPort, mqtt: d.mqttPort, host: d.host, speed: d.speed, store: d.store, level: d.logLevel },
    {
      http: 8080,
      mqtt: 1883,
      host: '127.0.0.1',
      speed: 300,
      store: { kind: 'embedded', path: resolve('.poste-data', 'telemetry.duckdb') },
      level: 'warn',
    },
  );
  assert.equal(parse([], { PORT: '9000' }).httpPort, 9000);
  assert.equal(parse([], { PORT: '9000', POSTE_PORT: '9001' }).httpPort, 9001);
  assert.equal(parse(['--port', '9002'], { PORT: '9000', POSTE_PORT: '9001' }).httpPort, 9002);
  assert.equal(parse([], { MQTT_PORT: '1884', POSTE_MQTT_PORT: '1885' }).mqttPort, 1885);
  assert.equal(parse([], { HOST: '0.0.0.0' }).host, '0.0.0.0');
  assert.equal(parse([], { SPEED: '60', POSTE_SPEED: '120' }).speed, 120);
  assert.equal(parse([], { POSTE_DATA: '/tmp/x' }).dataDir, '/tmp/x');
  assert.equal(parseCityCommandLine(['-h'], {}), 'help');
});

test('npm start store: embedded by default, InfluxDB 1.x or 2.x from POSTE_INFLUX_* (INFLUX_* aliases), or any --store spec', () => {
  assert.deepEqual(parse([], { INFLUX_URL: '' }).store.kind, 'embedded');
  assert.deepEqual(parse([], { INFLUX_URL: 'http://127.0.0.1:8086' }).store, {
    kind: 'influxdb1',
    url: 'http://127.0.0.1:8086',
    database: 'poste',
  });
  assert.deepEqual(parse([], { POSTE_INFLUX_URL: 'http://h:8086', INFLUX_DB: 'city' }).store, {
    kind: 'influxdb1',
    url: 'http://h:8086',
    database: 'city',
  });
  assert.deepEqual(
    parse([], { POSTE_INFLUX_URL: 'http://h:8086', POSTE_INFLUX_TOKEN: 't', INFLUX_ORG: 'o', POSTE_INFLUX_BUCKET: 'b' }).store,
    {
      kind: 'influxdb2',
      url: 'http://h:8086',
      token: 't',
      org: 'o',
      bucket: 'b',
    },
  );
  const mem = parse(['--store', 'memory:'], {});
  assert.equal(mem.store.kind, 'memory');
  assert.equal(mem.storeLabel, 'memory:');
});

test('npm start: a bad setting is a usage error naming where it came from', () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[], { PORT: 'eighty' }, /--port \/ PORT must be a port number/],
    [[], { POSTE_MQTT_PORT: '99999' }, /--mqtt-port \/ POSTE_MQTT_PORT must be a port number/],
    [['--port', 'x'], {}, /^--port must be/],
    [[], { SPEED: '0' }, /--speed \/ SPEED must be a number/],
    [[], { INFLUX_URL: 'http://h', INFLUX_TOKEN: 't' }, /needs POSTE_INFLUX_ORG and POSTE_INFLUX_BUCKET/],
    [['--store', 'memory:'], { INFLUX_URL: 'http://h' }, /either --store .* or --influx-url/],
    [['--store', 'nosuch:x'], {}, /unknown kind "nosuch"/],
    [['--bogus'], {}, /bogus/],
  ];
  for (const [argv, env, message] of cases)
    assert.throws(
      () => parseCityCommandLine(argv, env),
      (err: Error) => err instanceof UsageError && message.test(err.message),
      `${argv.join(' ')} ${JSON.stringify(env)}`,
    );
});

test('poste-city verify is the one subcommand; anything else is a usage error', () => {
  assert.equal(parse([], {}).command, 'run');
  assert.equal(parse(['verify', '--data', '/tmp/x'], {}).command, 'verify');
  assert.throws(
    () => parse(['verfy'], {}),
    (e: unknown) => e instanceof UsageError && /unknown command "verfy"/.test(e.message),
  );
});

test('city size: flags give a uniform city (unset ones default), validated with the flag named; none = the demo city', () => {
  assert.equal(parse([], {}).size, undefined);
  assert.equal(parse([], {}).faultsPerHour, 0);
  assert.deepEqual(parse(['--municipalities', '10', '--luminaires-per-gateway', '500', '--faults-per-hour', '2.5'], {}).size, {
    municipalities: 10,
    gatewaysPerMunicipality: 2,
    luminairesPerGateway: 500,
    apsPerGateway: 4,
  });
  assert.equal(parse(['--faults-per-hour', '2.5'], {}).faultsPerHour, 2.5);
  assert.throws(
    () => parse(['--municipalities', '0'], {}),
    (e: Error) => e instanceof UsageError && /^--municipalities: .*>=\s*1.*\(got "0"\)/.test(e.message),
  );
  assert.throws(
    () => parse(['--aps-per-gateway', 'many'], {}),
    (e: Error) => e instanceof UsageError && /^--aps-per-gateway: .*got "many"/.test(e.message),
  );
  assert.throws(() => parse(['--gateways-per-municipality', '1.5'], {}), /--gateways-per-municipality: .*int/);
  assert.throws(
    () => parse(['--municipalities', '645', '--gateways-per-municipality', '1000'], {}),
    /--gateways-per-municipality: at most 100,000 gateways/,
  );
  assert.throws(() => parse(['--faults-per-hour=-1'], {}), /--faults-per-hour: /);
});

test('npm start cluster: --nodes (POSTE_NODES), --redis (POSTE_REDIS_URL), --devices-per-connection, each error naming its flag', () => {
  const d = parse([], {});
  assert.deepEqual({ nodes: d.nodes, redis: d.redisUrl, per: d.devicesPerConnection }, { nodes: 1, redis: undefined, per: undefined });
  assert.equal(parse(['--nodes', '3'], {}).nodes, 3);
  assert.equal(parse([], { POSTE_NODES: '2' }).nodes, 2);
  assert.equal(parse(['--redis', 'redis://127.0.0.1:6380/1'], {}).redisUrl, 'redis://127.0.0.1:6380/1');
  assert.equal(parse([], { POSTE_REDIS_URL: 'rediss://r:6379' }).redisUrl, 'rediss://r:6379');
  assert.equal(parse(['--devices-per-connection', '250'], {}).devicesPerConnection, 250);
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--nodes', '0'], {}, /^--nodes: .*>=1.* \(got "0"\)/],
    [['--nodes', '17'], {}, /^--nodes: .*<=16/],
    [['--nodes', '2.5'], {}, /^--nodes: /],
    [[], { POSTE_NODES: 'three' }, /^--nodes \/ POSTE_NODES: /],
    [['--redis', 'http://127.0.0.1:6379'], {}, /^--redis: a redis:\/\/ or rediss:\/\/ URL/],
    [['--devices-per-connection', '0'], {}, /^--devices-per-connection: /],
  ];
  for (const [argv, env, message] of cases)
    assert.throws(
      () => parseCityCommandLine(argv, env),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      argv.join(' '),
    );
});

test('devices share connections only in a city too large for one socket each', () => {
  assert.equal(devicesPerConnectionFor(5_000), 1);
  assert.equal(devicesPerConnectionFor(100_400), 500);
});
