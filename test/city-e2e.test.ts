// End to end: simulated devices → agent → broker (auth + ACL) → ingest → store → dashboard API.
// After a simulated night with faults, every reading each device reported is in the store (a count
// per series: cumulative counters hide lost readings from an energy total) and the store's energy,
// unrounded, equals the simulators' ground truth within 0.1% — once on a real InfluxDB 1.6, once on
// the embedded store. The API's rounded figure is checked against the same truth.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type StoreConfig, type TelemetryStore } from '@poste/telemetry-store';
import { startCity, type City } from '@poste/city';
import { SimClock, type CityScenarioInput } from '@poste/simulators';
import { startInfluxDB, type RunningInfluxDB } from './harness/influxdb';

const HOUR = 3_600_000;

/** One gateway, 24 luminaires in two groups, 2 APs; starts 17:00 in São Paulo (UTC−3). */
const scenario: CityScenarioInput = {
  seed: 7,
  start: '2024-06-03T20:00:00Z',
  speed: 1,
  reportIntervalS: 60,
  stepS: 10,
  municipalities: [
    {
      id: 'campinas',
      name: 'Campinas',
      timeZone: 'America/Sao_Paulo',
      lat: -22.9056,
      lon: -47.0608,
      gateways: [{ id: 'cps-e2e', luminaires: 24, aps: 2 }],
    },
  ],
};

interface EnergyBody {
  measuredKwh: number;
  baselineKwh: number;
  savedKwh: number;
  savedBrl: number;
  litHours: number;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url} → ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

function cityNight(name: string, storeConfig: (dataDir: string) => Promise<StoreConfig>, cleanup: () => Promise<void> = async () => {}) {
  describe(`a simulated night on ${name}`, () => {
    let dataDir: string;
    let store: TelemetryStore;
    let city: City;
    let clock: SimClock;
    const startMs = Date.parse(scenario.start);
    const endMs = startMs + 14 * HOUR; // 17:00 → 07:00 local: a whole night, dusk to dawn

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'poste-e2e-'));
      store = await openStore(await storeConfig(dataDir));
      clock = SimClock.manual(startMs);
      // The clock jumps hours at a time here, so agent-side programs would be evaluated at the jumped
      // time while devices catch up: devices run their own local program instead, which keeps the
      // night deterministic (the scheduler in the agent is tested in test/agent-dimming.test.ts).
      city = await startCity({ scenario, dataDir, store, clock, dimmingPrograms: false });
      // First half of the night, then faults: a controller reboot (energy counter back to 0) and a lamp failure.
      clock.advance(7 * HOUR);
      await city.fleet.runUntil(startMs + 7 * HOUR);
      const lums = city.generated.luminaires;
      city.fleet.injectFault(lums[3]!.id, 'counterReset');
      city.fleet.injectFault(lums[5]!.id, 'lampFailure');
      clock.advance(7 * HOUR);
      await city.settle(endMs);
    });

    after(async () => {
      await city?.stop();
      await store?.close();
      await cleanup();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('every reading each luminaire reported is in the store, once', async () => {
      const truth = city.fleet.groundTruth();
      const rows = await store.luminaireEnergy({ from: startMs, to: endMs + 1 });
      const stored = new Map(rows.map((r) => [r.luminaire, r.points]));
      const expected = new Map(truth.devices.filter((d) => d.device.includes('-lum-')).map((d) => [d.device, d.reports]));
      assert.equal(expected.size, 24);
      assert.ok(
        [...expected.values()].every((n) => n > 800),
        'a 14 h night at one reading a minute is 840 readings per luminaire',
      );
      assert.deepEqual(Object.fromEntries(stored), Object.fromEntries(expected));
      assert.equal(
        await store.countPoints('luminaire', startMs, endMs + 1),
        [...expected.values()].reduce((a, b) => a + b, 0),
      );
    });

    it('the store’s energy, unrounded, equals the simulators’ ground truth within 0.1%; the API’s figure agrees', async (t) => {
      const truth = city.fleet.groundTruth().total;
      const rows = await store.luminaireEnergy({ from: startMs, to: endMs + 1 });
      const storeWh = rows.reduce((s, r) => s + r.energyWh, 0);
      const truthWh = truth.exactWhBetweenReports;
      assert.ok(truthWh > 10_000, `a night of 24 LED luminaires uses well over 10 kWh, truth says ${truthWh} Wh`);
      const relErr = Math.abs(storeWh - truthWh) / truthWh;
      t.diagnostic(`${name}: store ${storeWh} Wh, ground truth ${truthWh} Wh, error ${(relErr * 100).toFixed(6)}%`);
      assert.ok(relErr < 0.001, `store ${storeWh} Wh vs ground truth ${truthWh} Wh: ${(relErr * 100).toFixed(4)}% off`);
      const body = await getJson<EnergyBody>(`${city.dashboardUrl}/api/v1/energy?from=${startMs}&to=${endMs + 1}&municipality=campinas`);
      // The API rounds kWh to 3 decimals: it must be the store's figure, rounded.
      assert.ok(Math.abs(body.measuredKwh - storeWh / 1000) <= 0.0005 + 1e-9, `API ${body.measuredKwh} kWh vs store ${storeWh / 1000} kWh`);
    });

    it('the store’s reset-aware counter deltas match what the devices reported, reading by reading', async () => {
      const truth = city.fleet.groundTruth().total;
      const rows = await store.luminaireEnergy({ from: startMs, to: endMs + 1 });
      assert.equal(rows.length, 24);
      const wh = rows.reduce((s, r) => s + r.energyWh, 0);
      assert.ok(Math.abs(wh - truth.measuredWh) < 1e-6 * truth.measuredWh + 0.01, `store ${wh} Wh vs reported ${truth.measuredWh} Wh`);
    });

    it('savings follow the retrofit baseline and the municipality tariff', async () => {
      const body = await getJson<EnergyBody>(`${city.dashboardUrl}/api/v1/energy?from=${startMs}&to=${endMs + 1}`);
      assert.ok(body.litHours > 24 * 10, `24 luminaires lit most of a 14 h span, got ${body.litHours} h`);
      assert.ok(body.baselineKwh > body.measuredKwh * 1.5, 'sodium lamps + ballast draw far more than dimmed LEDs');
      assert.ok(Math.abs(body.savedKwh - (body.baselineKwh - body.measuredKwh)) < 0.01);
      assert.ok(Math.abs(body.savedBrl - body.savedKwh * 0.62) < 0.05, `savedBrl ${body.savedBrl} at R$ 0,62/kWh`);
    });

    it('the fleet endpoint sees the gateway and every device online', async () => {
      const fleet = await getJson<{ gateways: { online: number }; luminaires: { online: number }; aps: { online: number } }>(
        `${city.dashboardUrl}/api/v1/fleet`,
      );
      assert.deepEqual(
        { gateways: fleet.gateways.online, luminaires: fleet.luminaires.online, aps: fleet.aps.online },
        { gateways: 1, luminaires: 24, aps: 2 },
      );
    });
  });
}

cityNight('the embedded store', async (dir) => ({ kind: 'embedded', path: join(dir, 'telemetry.duckdb') }));

let influx: RunningInfluxDB | undefined;
cityNight(
  'InfluxDB 1.6',
  async () => {
    influx = await startInfluxDB();
    return { kind: 'influxdb1', url: influx.url, database: 'poste_e2e' };
  },
  async () => influx?.stop(),
);
