// One contract suite, run against every TelemetryStore implementation that can run here: the
// embedded DuckDB store (temp file) and InfluxDB 1.x (a real influxd started by the harness).
// The influxdb2 writer has no server installable on these machines; its requests are tested
// against a recording HTTP endpoint in telemetry-store/src/influxdb2/.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore, sumCounterDeltas, type LuminaireEnergy, type TelemetryStore } from '@poste/telemetry-store';
import { startInfluxDB, type RunningInfluxDB } from './harness/influxdb';
import { apPoint, chunks, eventPoint, luminairePoint, shuffled } from './store-contract-fixtures';

interface Target {
  name: string;
  setup(): Promise<void>;
  /** a fresh, empty, initialised store */
  open(): Promise<TelemetryStore>;
  teardown(): Promise<void>;
}

let dir = '';
let influx: RunningInfluxDB | undefined;
let dbCounter = 0;

const targets: Target[] = [
  {
    name: 'embedded',
    async setup() {
      dir = await mkdtemp(join(tmpdir(), 'poste-store-contract-'));
    },
    open: () => openStore({ kind: 'embedded', path: join(dir, `t${++dbCounter}`, 'telemetry.duckdb') }),
    async teardown() {
      await rm(dir, { recursive: true, force: true });
    },
  },
  {
    name: 'influxdb1',
    async setup() {
      influx = await startInfluxDB();
    },
    open: () => openStore({ kind: 'influxdb1', url: influx!.url, database: `contract_${++dbCounter}` }),
    async teardown() {
      await influx?.stop();
    },
  },
];

const T0 = Date.UTC(2025, 0, 15, 0, 0, 0);
const MIN = 60_000;

function byLuminaire(rows: LuminaireEnergy[]): Map<string, LuminaireEnergy> {
  return new Map(rows.map((r) => [r.luminaire, r]));
}

for (const target of targets) {
  describe(`store contract: ${target.name}`, () => {
    const opened: TelemetryStore[] = [];
    const fresh = async () => {
      const s = await target.open();
      opened.push(s);
      return s;
    };
    before(() => target.setup());
    after(async () => {
      for (const s of opened) await s.close();
      await target.teardown();
    });

    test('write then count, per measurement', async () => {
      const store = await fresh();
      await store.write([
        ...[0, 1, 2, 3].map((i) => luminairePoint({ luminaire: 'L1' }, T0 + i * MIN, 100 + i)),
        apPoint('ap-1', T0),
        apPoint('ap-1', T0 + MIN),
        eventPoint('L1', T0 + 30_000),
      ]);
      assert.equal(await store.countPoints('luminaire', T0, T0 + 10 * MIN), 4);
      assert.equal(await store.countPoints('ap', T0, T0 + 10 * MIN), 2);
      assert.equal(await store.countPoints('event', T0, T0 + 10 * MIN), 1);
      assert.equal(await store.countPoints('luminaire', T0 + 20 * MIN, T0 + 30 * MIN), 0);
    });

    test('replaying the same points (same series + ts) overwrites: energy and count unchanged', async () => {
      const store = await fresh();
      const points = [0, 1, 2, 3, 4].map((i) => luminairePoint({ luminaire: 'L1' }, T0 + i * MIN, 1_000 + 25 * i));
      await store.write(points);
      const once = await store.luminaireEnergy({ from: T0, to: T0 + 10 * MIN });
      await store.write(points);
      await store.write(shuffled(points));
      const thrice = await store.luminaireEnergy({ from: T0, to: T0 + 10 * MIN });
      assert.deepEqual(thrice, once);
      assert.equal(thrice[0]?.energyWh, 100);
      assert.equal(thrice[0]?.points, 5);
      assert.equal(await store.countPoints('luminaire', T0, T0 + 10 * MIN), 5);
    });

    test('energy across a counter reset counts the new value from zero', async () => {
      const store = await fresh();
      const values = [100, 150, 20, 50, 50, 70];
      await store.write(values.map((v, i) => luminairePoint({ luminaire: 'L1' }, T0 + i * MIN, v, v / 10)));
      const [row] = await store.luminaireEnergy({ from: T0, to: T0 + 10 * MIN });
      assert.ok(row);
      assert.equal(row.energyWh, 50 + 20 + 30 + 0 + 20);
      assert.ok(Math.abs(row.litHours - (50 + 20 + 30 + 0 + 20) / 10) < 1e-9);
      assert.equal(row.points, 6);
      assert.equal(row.firstTs, T0);
      assert.equal(row.lastTs, T0 + 5 * MIN);
    });

    test('out-of-order, batched arrival gives the in-order answer', async () => {
      const inOrderStore = await fresh();
      const shuffledStore = await fresh();
      const points = [];
      const expected = new Map<string, number>();
      for (const lum of ['L1', 'L2', 'L3']) {
        let counter = lum === 'L2' ? 5_000 : 0;
        const samples = [];
        for (let i = 0; i < 60; i++) {
          // L2 resets twice; the others rise steadily
          counter = lum === 'L2' && (i === 20 || i === 41) ? 3 : counter + 7 + (i % 5);
          points.push(luminairePoint({ luminaire: lum }, T0 + i * MIN, counter));
          samples.push({ ts: T0 + i * MIN, value: counter });
        }
        expected.set(lum, sumCounterDeltas(samples));
      }
      await inOrderStore.write(points);
      for (const batch of chunks(shuffled(points, 7), 17)) await shuffledStore.write(batch);
      const q = { from: T0, to: T0 + 60 * MIN };
      const a = await inOrderStore.luminaireEnergy(q);
      const b = await shuffledStore.luminaireEnergy(q);
      assert.deepEqual(b, a);
      for (const [lum, wh] of expected) assert.equal(byLuminaire(a).get(lum)?.energyWh, wh);
    });

    test('municipality and gateway filters', async () => {
      const store = await fresh();
      const series = [
        { municipality: 'belem', gateway: 'gw-1', luminaire: 'A' },
        { municipality: 'belem', gateway: 'gw-2', luminaire: 'B' },
        { municipality: 'santarem', gateway: 'gw-9', luminaire: 'C', group: 'crossings' },
      ];
      await store.write(series.flatMap((s) => [0, 1, 2].map((i) => luminairePoint(s, T0 + i * MIN, 10 * i))));
      const q = { from: T0, to: T0 + 10 * MIN };
      assert.deepEqual((await store.luminaireEnergy(q)).map((r) => r.luminaire).sort(), ['A', 'B', 'C']);
      assert.deepEqual((await store.luminaireEnergy({ ...q, municipality: 'belem' })).map((r) => r.luminaire).sort(), ['A', 'B']);
      assert.deepEqual((await store.luminaireEnergy({ ...q, gateway: 'gw-2' })).map((r) => r.luminaire), ['B']);
      assert.deepEqual((await store.luminaireEnergy({ ...q, municipality: 'belem', gateway: 'gw-9' })), []);
      const [c] = await store.luminaireEnergy({ ...q, municipality: 'santarem' });
      assert.deepEqual(
        c && { municipality: c.municipality, gateway: c.gateway, group: c.group, energyWh: c.energyWh },
        { municipality: 'santarem', gateway: 'gw-9', group: 'crossings', energyWh: 20 },
      );
    });

    test('ranges are [from, to): from inclusive, to exclusive', async () => {
      const store = await fresh();
      await store.write([0, 1, 2, 3].map((i) => luminairePoint({ luminaire: 'L1' }, T0 + i * MIN, 100 * (i + 1))));
      assert.equal(await store.countPoints('luminaire', T0 + MIN, T0 + 3 * MIN), 2);
      assert.equal(await store.countPoints('luminaire', T0 + MIN, T0 + 3 * MIN + 1), 3);
      assert.equal(await store.countPoints('luminaire', T0 + MIN + 1, T0 + 3 * MIN), 1);
      const [row] = await store.luminaireEnergy({ from: T0 + MIN, to: T0 + 3 * MIN });
      assert.equal(row?.points, 2);
      assert.equal(row?.energyWh, 100);
      assert.equal(row?.firstTs, T0 + MIN);
      assert.equal(row?.lastTs, T0 + 2 * MIN);
    });

    test('a batch of 5,000+ points is written whole', async () => {
      const store = await fresh();
      const points = [];
      for (let l = 0; l < 60; l++) {
        for (let i = 0; i < 100; i++) points.push(luminairePoint({ luminaire: `L${l}`, group: `g${l % 3}` }, T0 + i * MIN, 50 * i));
      }
      assert.ok(points.length >= 5_000);
      await store.write(points);
      assert.equal(await store.countPoints('luminaire', T0, T0 + 100 * MIN), 6_000);
      const rows = await store.luminaireEnergy({ from: T0, to: T0 + 100 * MIN });
      assert.equal(rows.length, 60);
      for (const r of rows) {
        assert.equal(r.energyWh, 50 * 99);
        assert.equal(r.points, 100);
      }
      assert.equal(byLuminaire(rows).get('L4')?.group, 'g1');
    });
  });
}
