// The store contract: one suite every backend runs from its own test file
// (`describeStoreContract('embedded', () => openStore(…))`). It pins the semantics the dashboard and
// ingest rely on: overwrite idempotence, counter resets, out-of-order arrival, filters, [from, to)
// ranges, 5,000+ point batches, and one unusable point refused alone (PartialWriteError).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sumCounterDeltas } from '../counter-deltas';
import { PartialWriteError } from '../errors';
import type { LuminaireEnergy, TelemetryStore } from '../types';
import { apPoint, chunks, eventPoint, luminairePoint, shuffled } from './fixtures';

export interface StoreContractOptions {
  /** runs once before the suite, e.g. to start a server that open() connects to */
  before?: () => Promise<void>;
  /** runs once after the suite has closed every store it opened */
  after?: () => Promise<void>;
}

const T0 = Date.UTC(2025, 0, 15, 0, 0, 0);
const MIN = 60_000;

function byLuminaire(rows: LuminaireEnergy[]): Map<string, LuminaireEnergy> {
  return new Map(rows.map((r) => [r.luminaire, r]));
}

/**
 * Registers the contract suite (a node:test `describe`) for one backend. `open` must return a
 * fresh, empty, initialised store each time; the suite closes every store it opened.
 */
export function describeStoreContract(name: string, open: () => Promise<TelemetryStore>, opts: StoreContractOptions = {}): void {
  describe(`store contract: ${name}`, () => {
    const opened: TelemetryStore[] = [];
    const fresh = async () => {
      const s = await open();
      opened.push(s);
      return s;
    };
    before(async () => {
      await opts.before?.();
    });
    after(async () => {
      for (const s of opened) await s.close();
      await opts.after?.();
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
      assert.deepEqual(
        (await store.luminaireEnergy({ ...q, gateway: 'gw-2' })).map((r) => r.luminaire),
        ['B'],
      );
      assert.deepEqual(await store.luminaireEnergy({ ...q, municipality: 'belem', gateway: 'gw-9' }), []);
      const [c] = await store.luminaireEnergy({ ...q, municipality: 'santarem' });
      assert.deepEqual(c && { municipality: c.municipality, gateway: c.gateway, group: c.group, energyWh: c.energyWh }, {
        municipality: 'santarem',
        gateway: 'gw-9',
        group: 'crossings',
        energyWh: 20,
      });
    });

    test('ranges are [from, to): from inclusive, to exclusive', async () => {
      const store = await fresh();
      await store.write([0, 1, 2, 3].map((i) => luminairePoint({ luminaire: 'L1' }, T0 + i * MIN, 100 * (i + 1))));
      assert.equal(await store.countPoints('luminaire', T0 + MIN, T0 + 3 * MIN), 2);
      assert.equal(await store.countPoints('luminaire', T0 + MIN, T0 + 3 * MIN + 1), 3);
      assert.equal(await store.countPoints('luminaire', T0 + MIN + 1, T0 + 3 * MIN), 1);
      const [row] = await store.luminaireEnergy({ from: T0 + MIN, to: T0 + 3 * MIN });
      assert.equal(row?.points, 2);
      // each reading brings the delta from its predecessor, even one before the range: 100 + 100
      assert.equal(row?.energyWh, 200);
      assert.equal(row?.firstTs, T0 + MIN);
      assert.equal(row?.lastTs, T0 + 2 * MIN);
    });

    test('a point the store cannot hold (a string into a number field) is refused alone; the rest is written', async () => {
      const store = await fresh();
      await store.write([luminairePoint({ luminaire: 'L1' }, T0, 100)]);
      const bad = { ...luminairePoint({ luminaire: 'L2' }, T0 + MIN, 5), fields: { activeEnergy: 'lots' } };
      const batch = [luminairePoint({ luminaire: 'L1' }, T0 + MIN, 110), bad, luminairePoint({ luminaire: 'L3' }, T0 + MIN, 7)];
      await assert.rejects(store.write(batch), (err: unknown) => {
        assert.ok(err instanceof PartialWriteError, `expected a PartialWriteError, got ${String(err)}`);
        assert.equal(err.retryable, false);
        assert.deepEqual([err.written, err.refused], [2, 1]);
        // InfluxDB reports only how many it dropped; the others say which.
        if (err.refusedIndices !== undefined) assert.deepEqual(err.refusedIndices, [1]);
        return true;
      });
      assert.equal(await store.countPoints('luminaire', T0, T0 + 10 * MIN), 3);
      assert.deepEqual(
        (await store.luminaireEnergy({ from: T0, to: T0 + 10 * MIN })).map((r) => r.luminaire),
        ['L1', 'L3'],
      );
    });

    test('an identical rewrite is a no-op; a conflicting duplicate is refused alone and the first value stays', async () => {
      const store = await fresh();
      const first = [0, 1, 2].map((i) => luminairePoint({ luminaire: 'L1' }, T0 + i * MIN, 100 + 10 * i));
      await store.write(first);
      await store.write(first);
      const conflicting = luminairePoint({ luminaire: 'L1' }, T0 + MIN, 999);
      const batch = [luminairePoint({ luminaire: 'L1' }, T0 + 3 * MIN, 130), conflicting, first[2]!];
      await assert.rejects(store.write(batch), (err: unknown) => {
        assert.ok(err instanceof PartialWriteError, `expected a PartialWriteError, got ${String(err)}`);
        assert.deepEqual([err.written, err.refused, err.refusedIndices], [2, 1, [1]]);
        assert.match(err.message, /conflicting duplicate/);
        return true;
      });
      // within one batch too: the first copy stands
      await assert.rejects(
        store.write([luminairePoint({ luminaire: 'L2' }, T0, 5), luminairePoint({ luminaire: 'L2' }, T0, 6)]),
        (err: unknown) => err instanceof PartialWriteError && err.refused === 1,
      );
      assert.equal(await store.countPoints('luminaire', T0, T0 + 10 * MIN), 5);
      const rows = byLuminaire(await store.luminaireEnergy({ from: T0, to: T0 + 10 * MIN }));
      assert.equal(rows.get('L1')?.energyWh, 30);
      assert.equal(rows.get('L1')?.points, 4);
    });

    test('hourly rollups: energy across hours and a reset, status counts, filters, a late reading recomputes the hours it touches', async () => {
      const store = await fresh();
      const H = 3_600_000;
      const at = (h: number, m: number) => T0 + h * H + m * MIN;
      const readings: Array<[number, number, string]> = [
        [at(0, 10), 100, 'ok'],
        [at(0, 50), 110, 'ok'],
        [at(1, 20), 130, 'lampFailure'],
        [at(2, 30), 5, 'ok'], // reset
        [at(2, 40), 15, 'ok'],
      ];
      const point = ([ts, e, status]: [number, number, string]) => ({
        ...luminairePoint({ luminaire: 'L1' }, ts, e, e / 10),
        fields: { ...luminairePoint({ luminaire: 'L1' }, ts, e, e / 10).fields, status },
      });
      const late: [number, number, string] = [at(1, 5), 120, 'ok'];
      await store.write(readings.map(point));
      await store.write([point(late)]);
      await store.write([luminairePoint({ municipality: 'santarem', gateway: 'gw-9', luminaire: 'X' }, at(0, 0), 1)]);
      const hours = await store.luminaireHours({ from: T0, to: T0 + 3 * H, municipality: 'belem' });
      assert.deepEqual(
        hours.map((h) => [h.hourStart - T0, h.luminaire, h.energyWh, h.readings, h.statusCounts]),
        [
          [0, 'L1', 10, 2, { ok: 2 }],
          [H, 'L1', 20, 2, { ok: 1, lampFailure: 1 }],
          [2 * H, 'L1', 15, 2, { ok: 2 }],
        ],
      );
      assert.ok(Math.abs((hours[2]?.litHours ?? 0) - 1.5) < 1e-9);
      assert.deepEqual(
        (await store.luminaireHours({ from: T0, to: T0 + 3 * H, device: 'X' })).map((h) => h.municipality),
        ['santarem'],
      );
      assert.deepEqual(await store.luminaireHours({ from: T0 + H, to: T0 + 2 * H, gateway: 'gw-9' }), []);
      // a split range adds up to the whole, and the whole is the sum of the hours
      const whole = byLuminaire(await store.luminaireEnergy({ from: T0, to: T0 + 3 * H })).get('L1');
      const a = byLuminaire(await store.luminaireEnergy({ from: T0, to: at(1, 10) })).get('L1');
      const b = byLuminaire(await store.luminaireEnergy({ from: at(1, 10), to: T0 + 3 * H })).get('L1');
      assert.equal(whole?.energyWh, 45);
      assert.equal((a?.energyWh ?? 0) + (b?.energyWh ?? 0), 45);
      assert.equal(a?.energyWh, 20);
    });

    test('AP hourly rollups: bytes per class from counters (with a reset), clients max and mean', async () => {
      const store = await fresh();
      const H = 3_600_000;
      const ap = (ts: number, bytes: [number, number, number], clients: [number, number, number]) => {
        const p = apPoint('ap-1', ts);
        return {
          ...p,
          fields: {
            ...p.fields,
            bytesHousehold: bytes[0],
            bytesPublic: bytes[1],
            bytesTelemedicine: bytes[2],
            clientsHousehold: clients[0],
            clientsPublic: clients[1],
            clientsTelemedicine: clients[2],
          },
        };
      };
      await store.write(
        shuffled([
          ap(T0 + 50 * MIN, [1000, 100, 10], [1, 1, 0]),
          ap(T0 + H + 10 * MIN, [1500, 40, 30], [2, 3, 1]),
          ap(T0 + H + 20 * MIN, [1600, 60, 30], [0, 1, 0]),
        ]),
      );
      const rows = await store.apHours({ from: T0, to: T0 + 2 * H });
      assert.equal(rows.length, 2);
      const [h0, h1] = rows;
      assert.deepEqual(h0?.bytes, { household: 0, public: 0, telemedicine: 0 });
      assert.deepEqual(h1?.bytes, { household: 600, public: 40 + 20, telemedicine: 20 });
      assert.deepEqual(h1?.clients, { max: 6, avg: 3.5 });
      assert.deepEqual(h1?.clientsAvg, { household: 1, public: 2, telemedicine: 0.5 });
      assert.equal(h1?.readings, 2);
      assert.equal(h1?.telemedicineSessions, 0, 'an AP without coproduction figures counts no sessions');
      assert.deepEqual(h1?.reserve, { measuredS: 0, honouredS: 0 });
    });

    test('AP hourly rollups: telemedicine sessions and the reserve’s seconds from counters since boot, a reboot counting from zero', async () => {
      const store = await fresh();
      const H = 3_600_000;
      const MIN = 60_000;
      const ap = (ts: number, sessions: number, measuredS: number, honouredS: number) => {
        const p = apPoint('ap-2', ts);
        return { ...p, fields: { ...p.fields, telemedicineSessions: sessions, reserveMeasuredS: measuredS, reserveHonouredS: honouredS } };
      };
      // arrival out of order, with a replay; the AP reboots between 00:40 and 01:10
      await store.write([ap(T0 + H + 10 * MIN, 1, 600, 600), ap(T0 + 10 * MIN, 2, 600, 600)]);
      await store.write([ap(T0 + 40 * MIN, 5, 2_400, 2_100), ap(T0 + H + 30 * MIN, 3, 1_800, 1_500), ap(T0 + 10 * MIN, 2, 600, 600)]);
      const [h0, h1] = await store.apHours({ from: T0, to: T0 + 2 * H, device: 'ap-2' });
      assert.deepEqual([h0?.telemedicineSessions, h0?.reserve], [3, { measuredS: 1_800, honouredS: 1_500 }]);
      assert.deepEqual([h1?.telemedicineSessions, h1?.reserve], [1 + 2, { measuredS: 600 + 1_200, honouredS: 600 + 900 }]);
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
