// End to end, the scripted correctness city: simulated devices → agent → broker (auth + ACL) →
// ingest → store → dashboard API. Through a simulated night with faults — a controller reboot
// (energy counter back to 0), a lamp failure, an AP reboot (byte and session counters back to 0) —
// and with telemetry batches held back and delivered after newer ones (out of order) and delivered
// twice (duplicates) at the broker's door, every reading each device reported is in the store once
// (a count per series: cumulative counters hide lost readings from an energy total); the store's
// kWh and savings, unrounded, equal the simulators' ground truth (ground-truth.json) within 0.1 %;
// Wi-Fi bytes per class, telemedicine sessions and the reserve's seconds equal the simulated APs'
// counters exactly — once on a real InfluxDB 1.6, once on the embedded store. The API's figures are
// checked against the same truth.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type StoreConfig, type TelemetryStore } from '@poste/telemetry-store';
import { readGroundTruth, startCity, verifyAgainstGroundTruth, writeCityCheckpoint, type City, type GroundTruthFile } from '@poste/city';
import { SimClock, type CityScenarioInput } from '@poste/simulators';
import { injectBatchFaults, type BatchFaults } from './harness/batch-faults';
import { waitFor } from './harness/free-port';
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
    let faults: BatchFaults;
    let gt: GroundTruthFile;
    const startMs = Date.parse(scenario.start);
    const endMs = startMs + 14 * HOUR; // 17:00 → 07:00 local: a whole night, dusk to dawn

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'poste-e2e-'));
      store = await openStore(await storeConfig(dataDir));
      clock = SimClock.manual(startMs);
      // The clock jumps hours at a time here, so agent-side programs would be evaluated at the jumped
      // time while devices catch up: devices run their own local program instead, which keeps the
      // night deterministic (the scheduler in the agent is tested in test/agent-dimming.test.ts).
      // Batches of at most 200 readings: a few hundred batches in the night, so the faults hit many.
      city = await startCity({
        scenario,
        dataDir,
        store,
        clock,
        dimmingPrograms: false,
        agentBatch: { batchMaxReadings: 200, batchMaxDelayMs: 100 },
      });
      faults = injectBatchFaults(city, { seed: 42, holdChance: 0.25, replayChance: 0.3 });
      // First half of the night, then faults: a controller reboot (energy counter back to 0), a lamp
      // failure, and an AP down for an hour (back up, its byte and session counters restart at 0).
      clock.advance(7 * HOUR);
      await city.fleet.runUntil(startMs + 7 * HOUR);
      const lums = city.generated.luminaires;
      const ap = city.generated.aps[0]!.id;
      city.fleet.injectFault(lums[3]!.id, 'counterReset');
      city.fleet.injectFault(lums[5]!.id, 'lampFailure');
      city.fleet.injectFault(ap, 'apDown');
      clock.advance(HOUR);
      await city.fleet.runUntil(startMs + 8 * HOUR);
      city.fleet.clearFault(ap, 'apDown');
      clock.advance(6 * HOUR);
      await city.fleet.runUntil(endMs);
      // The held-back batches reach ingest late, after everything newer; then all is settled.
      await faults.drain();
      await city.settle(endMs);
      // settle() counts written points, replays included: wait for the store to hold every reading.
      const produced = city.fleet.engine.produced;
      await waitFor(
        'every reading in the store',
        async () =>
          (await store.countPoints('luminaire', 0, endMs + 1)) === produced.luminaire &&
          (await store.countPoints('ap', 0, endMs + 1)) === produced.ap,
        60_000,
        250,
      );
      await city.ingest.flush();
      // The city's ground-truth.json, as `npm start` writes it beside its checkpoint.
      await writeCityCheckpoint(dataDir, scenario.seed, city.fleet.snapshot(), city.fleet.groundTruth());
      gt = await readGroundTruth(dataDir);
    });

    after(async () => {
      faults?.remove();
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

    it('batches really arrived out of order and twice', (t) => {
      t.diagnostic(`${name}: ${JSON.stringify(faults.stats)}`);
      assert.ok(faults.stats.held >= 5, `batches held back and delivered late: ${faults.stats.held}`);
      assert.ok(faults.stats.replayed >= 5, `batches delivered twice: ${faults.stats.replayed}`);
      assert.equal(faults.stats.refused, 0);
    });

    it('the store’s savings, unrounded, equal the ground truth within 0.1 % (baseline: lamp W × hours lit)', async (t) => {
      const rows = await store.luminaireEnergy({ from: startMs, to: endMs + 1 });
      const baselineW = new Map(city.generated.luminaires.map((l) => [l.id, l.baselineLampW]));
      const baselineWh = rows.reduce((s, r) => s + baselineW.get(r.luminaire)! * r.litHours, 0);
      const savedWh = baselineWh - rows.reduce((s, r) => s + r.energyWh, 0);
      const truthSavedWh = gt.baselineWh! - gt.energyWh;
      assert.ok(truthSavedWh > 10_000, `sodium lamps would have used far more: ${truthSavedWh} Wh saved`);
      const relErr = Math.abs(savedWh - truthSavedWh) / truthSavedWh;
      t.diagnostic(`${name}: saved ${savedWh} Wh, ground truth ${truthSavedWh} Wh, error ${(relErr * 100).toFixed(6)}%`);
      assert.ok(relErr < 0.001, `saved ${savedWh} Wh vs ${truthSavedWh} Wh`);
      assert.ok(Math.abs(baselineWh - gt.baselineWh!) / gt.baselineWh! < 0.001);
      const body = await getJson<EnergyBody>(`${city.dashboardUrl}/api/v1/energy?from=${startMs}&to=${endMs + 1}`);
      assert.ok(Math.abs(body.savedKwh - savedWh / 1000) <= 0.001 + 1e-9, `API ${body.savedKwh} kWh vs store ${savedWh / 1000} kWh`);
    });

    it('Wi-Fi bytes per class, telemedicine sessions and the reserve’s seconds equal the APs’ counters exactly, per AP and in the API', async () => {
      const hours = await store.apHours({ from: startMs - HOUR, to: endMs + HOUR });
      const truth = city.fleet.groundTruth();
      assert.equal(truth.aps.length, 2);
      for (const a of truth.aps) {
        const mine = hours.filter((h) => h.ap === a.device);
        const sum = (f: (h: (typeof hours)[number]) => number) => mine.reduce((s, h) => s + f(h), 0);
        assert.deepEqual(
          {
            household: sum((h) => h.bytes.household),
            public: sum((h) => h.bytes.public),
            telemedicine: sum((h) => h.bytes.telemedicine),
            sessions: sum((h) => h.telemedicineSessions),
            measuredS: sum((h) => h.reserve.measuredS),
            honouredS: sum((h) => h.reserve.honouredS),
          },
          { ...a.bytes, sessions: a.sessions, measuredS: a.reserveMeasuredS, honouredS: a.reserveHonouredS },
          a.device,
        );
      }
      assert.ok(gt.wifi && gt.wifi.bytes.public > 0 && gt.wifi.bytes.household > 0);
      assert.ok(gt.wifi.sessions > 0, 'a night and a morning of two APs carries telemedicine sessions');
      // The rebooted AP's counters restarted: exact still, the bytes lost to the reboot are not invented.
      const rebooted = truth.aps[0]!;
      assert.ok(rebooted.exactBytes.household > rebooted.bytes.household);
      const series = await getJson<{ bytes: Record<string, number>; telemedicineSessions: number }>(
        `${city.dashboardUrl}/api/v1/wifi/series?from=${startMs - HOUR}&to=${endMs + HOUR}&granularity=day`,
      );
      assert.deepEqual(series.bytes, {
        household: gt.wifi.bytes.household,
        public: gt.wifi.bytes.public,
        telemedicine: gt.wifi.bytes.telemedicine,
      });
      assert.equal(series.telemedicineSessions, gt.wifi.sessions);
      // The city's own check (`npm start -- verify`) agrees.
      const v = await verifyAgainstGroundTruth(store, gt);
      assert.equal(v.ok, true, v.lines.join('\n'));
      assert.equal(v.wifi?.equal, true);
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
