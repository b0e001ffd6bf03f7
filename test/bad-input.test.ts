// Bad input at the cloud edge, sent by a third-party MQTT peer (mosquitto_pub): a wrong password,
// an unknown gateway and malformed payloads each get a clear rejection, logged and counted, while
// the good part of a batch is stored and the other clients carry on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { startCity, type City } from '@poste/city';
import { SimClock, type CityScenarioInput } from '@poste/simulators';
import { waitFor } from './harness/free-port';

const run = promisify(execFile);
const HOUR = 3_600_000;

const scenario: CityScenarioInput = {
  seed: 11,
  start: '2024-06-03T22:00:00Z',
  speed: 1,
  reportIntervalS: 60,
  stepS: 10,
  municipalities: [
    {
      id: 'belem',
      name: 'Belém',
      timeZone: 'America/Belem',
      lat: -1.4558,
      lon: -48.4902,
      gateways: [
        { id: 'bel-live', luminaires: 6, aps: 1 },
        { id: 'bel-spare', luminaires: 0, aps: 0 },
      ],
    },
  ],
};

/** mosquitto_pub; resolves to its exit code and stderr instead of throwing. */
async function mosquittoPub(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run('mosquitto_pub', args, { timeout: 15_000 });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
  }
}

async function metric(city: City, line: string): Promise<number> {
  const text = await (await fetch(`${city.dashboardUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

const reading = (device: string, ts: number, activeEnergy: number, dimLevel = 70) => ({
  device,
  ts,
  activePower: 55,
  activeEnergy,
  dimLevel,
  voltage: 227,
  current: 0.25,
  powerFactor: 0.95,
  operatingHours: 10,
  switchOnCounter: 3,
  status: 'ok',
});

describe('bad input at the broker and ingest', () => {
  let dataDir: string;
  let store: TelemetryStore;
  let city: City;
  let port: string;
  let sparePassword: string;
  let clock: SimClock;
  const t0 = Date.parse(scenario.start);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'poste-bad-'));
    store = await openStore({ kind: 'embedded', path: join(dataDir, 't.duckdb') });
    clock = SimClock.manual(t0);
    city = await startCity({ scenario, dataDir, store, clock, dimmingPrograms: false });
    port = new URL(city.mqttUrl).port;
    // The spare gateway's agent leaves so the test can speak for that gateway with its credentials.
    await city.agents.get('bel-spare')!.stop();
    const secrets = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as { gateways: Record<string, string> };
    sparePassword = secrets.gateways['bel-spare']!;
    clock.advance(HOUR);
    await city.fleet.runUntil(t0 + HOUR);
  });

  after(async () => {
    await city?.stop();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const pub = (user: string, password: string, topic: string, message: string, retain = false) =>
    mosquittoPub([
      ...(retain ? ['-r'] : []),
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-V',
      'mqttv311',
      '-i',
      user,
      '-u',
      user,
      '-P',
      password,
      '-q',
      '1',
      '-t',
      topic,
      '-m',
      message,
    ]);

  it('refuses a known gateway with the wrong password, and counts it', async () => {
    const before = await metric(city, 'poste_broker_auth_failures_total{reason="bad-password"}');
    const r = await pub('bel-spare', 'not-the-password', 'poste/v1/gw/bel-spare/events', '{}');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not authori[sz]ed|bad user ?name or password|Connection refused/i);
    assert.equal(await metric(city, 'poste_broker_auth_failures_total{reason="bad-password"}'), before + 1);
  });

  it('refuses an unknown gateway, and counts it', async () => {
    const before = await metric(city, 'poste_broker_auth_failures_total{reason="unknown-user"}');
    const r = await pub('gw-nobody', 'whatever', 'poste/v1/gw/gw-nobody/events', '{}');
    assert.notEqual(r.code, 0);
    assert.equal(await metric(city, 'poste_broker_auth_failures_total{reason="unknown-user"}'), before + 1);
  });

  it('dead-letters malformed JSON with its reason, without disturbing anyone', async () => {
    const before = city.ingest.stats().rejected;
    const r = await pub('bel-spare', sparePassword, 'poste/v1/gw/bel-spare/telemetry/luminaire', '{"v":1,"seq":1,"readings":[');
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the rejection to be counted', () => city.ingest.stats().rejected > before, 10_000);
    const sample = city.ingest.stats().deadLetterSamples.at(-1);
    assert.equal(sample?.gateway, 'bel-spare');
    assert.match(sample?.detail ?? '', /JSON/);
  });

  it('stores the good readings of a batch and rejects only the bad one, naming its path', async () => {
    const ts = t0 + 30 * 60_000;
    const batch = { v: 1, seq: 2, readings: [reading('spare-a', ts, 100), reading('spare-b', ts, 200, 140), reading('spare-c', ts, 300)] };
    // The cloud counts readings only of devices their gateway announced (retained device state).
    for (const device of ['spare-a', 'spare-b', 'spare-c']) {
      const birth = JSON.stringify({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: ts - 60_000 });
      const announced = await pub('bel-spare', sparePassword, `poste/v1/gw/bel-spare/dev/${device}/state`, birth, true);
      assert.equal(announced.code, 0, announced.stderr);
    }
    const beforeRejected = city.ingest.stats().rejected;
    const r = await pub('bel-spare', sparePassword, 'poste/v1/gw/bel-spare/telemetry/luminaire', JSON.stringify(batch));
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the bad reading to be counted', () => city.ingest.stats().rejected === beforeRejected + 1, 10_000);
    const sample = city.ingest.stats().deadLetterSamples.at(-1);
    assert.equal(sample?.path, 'readings[1].dimLevel');
    await city.ingest.flush();
    const rows = await store.luminaireEnergy({ from: ts, to: ts + 1, gateway: 'bel-spare' });
    assert.deepEqual(rows.map((row) => row.luminaire).sort(), ['spare-a', 'spare-c']);
    // The gateway retires them again (an empty retained state), so the fleet counts below stay the city's.
    for (const device of ['spare-a', 'spare-b', 'spare-c']) {
      const cleared = await pub('bel-spare', sparePassword, `poste/v1/gw/bel-spare/dev/${device}/state`, '', true);
      assert.equal(cleared.code, 0, cleared.stderr);
    }
  });

  it('keeps a gateway inside its own namespace: publishing as another gateway is refused', async () => {
    const before = await metric(city, 'poste_broker_acl_denied_total{action="publish",role="gateway"}');
    await pub('bel-spare', sparePassword, 'poste/v1/gw/bel-live/telemetry/luminaire', JSON.stringify({ v: 1, seq: 3, readings: [] }));
    assert.equal(await metric(city, 'poste_broker_acl_denied_total{action="publish",role="gateway"}'), before + 1);
  });

  it('the live gateway and its devices carried on through all of it', async () => {
    const written = city.ingest.stats().pointsWritten;
    clock.advance(HOUR);
    await city.settle(t0 + 2 * HOUR);
    assert.ok(city.agents.get('bel-live')!.northConnected);
    assert.ok(city.ingest.stats().pointsWritten > written + 6 * 50, 'another simulated hour of readings was written');
    const fleet = (await (await fetch(`${city.dashboardUrl}/api/v1/fleet`)).json()) as { luminaires: { online: number } };
    assert.equal(fleet.luminaires.online, 6);
  });
});
