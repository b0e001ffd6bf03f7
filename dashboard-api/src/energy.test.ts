import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LuminaireEnergy } from '@poste/telemetry-store';
import {
  baselineWattsOf,
  computeEnergy,
  emptyTotals,
  type EnergyTotals,
  luminaireContribution,
  municipalityOf,
  roundReport,
} from './energy';
import { NOW, HOUR, seededStore, testInventory } from './test-support/fixtures';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

function row(p: Partial<LuminaireEnergy> & Pick<LuminaireEnergy, 'luminaire' | 'energyWh' | 'litHours'>): LuminaireEnergy {
  return { municipality: 'belem', gateway: 'gw-b', group: 'av', points: 2, firstTs: 0, lastTs: 1, ...p };
}

describe('computeEnergy', () => {
  const inv = testInventory();
  const day = { from: NOW - 24 * HOUR, to: NOW };

  it('measured, retrofit baseline and savings of one luminaire with the municipal default baseline', () => {
    const r = computeEnergy([row({ luminaire: 'lum-b1', energyWh: 600, litHours: 10 })], inv, day);
    close(r.measuredKwh, 0.6, 'measured');
    close(r.baselineKwh, 1.7, 'baseline = 170 W × 10 h');
    close(r.savedKwh, 1.1, 'saved');
    close(r.savedBrl, 1.1 * 0.8, 'R$ at the Belém tariff');
    close(r.savedCo2Kg, 1.1 * 0.0385, 'CO2');
    close(r.billingBaselineKwh, (170 * 11.4) / 1000, 'billing = 170 W × 11.4 h × 1 day');
    close(r.billingSavedKwh, 1.938 - 0.6, 'billing saved');
    close(r.billingSavedBrl, (1.938 - 0.6) * 0.8, 'billing saved R$');
    assert.equal(r.luminaires, 1);
    assert.equal(r.nominalLoadW, 170);
  });

  it('a per-luminaire override replaces the municipal default baseline', () => {
    const r = computeEnergy([row({ luminaire: 'lum-b2', energyWh: 900, litHours: 10 })], inv, day);
    close(r.baselineKwh, 2.9, '290 W × 10 h');
    close(r.savedKwh, 2.0, 'saved');
  });

  it('R$ and CO2 use each municipality own tariff and factor, then sum', () => {
    const r = computeEnergy(
      [
        row({ luminaire: 'lum-b1', energyWh: 600, litHours: 10 }),
        row({ municipality: 'santarem', gateway: 'gw-s', group: 'ungrouped', luminaire: 'lum-s1', energyWh: 500, litHours: 10 }),
      ],
      inv,
      day,
    );
    close(r.savedKwh, 1.1 + 1.2, 'saved kWh');
    close(r.savedBrl, 1.1 * 0.8 + 1.2 * 0.5, 'R$ = Σ per municipality');
    // Santarém uses the schema defaults: 0.0385 kg/kWh, 11.866 h/day, 170 W.
    close(r.savedCo2Kg, 2.3 * 0.0385, 'CO2');
    close(r.billingBaselineKwh, (170 * 11.4 + 170 * 11.866) / 1000, 'billing per municipality hours');
    assert.deepEqual(
      r.byMunicipality.map((m) => [m.municipality, m.name, m.luminaires]),
      [
        ['belem', 'Belém', 1],
        ['santarem', 'Santarém', 1],
      ],
    );
  });

  it('billing baseline scales with the length of the range', () => {
    const week = { from: NOW - 7 * 24 * HOUR, to: NOW };
    const r = computeEnergy([row({ luminaire: 'lum-b1', energyWh: 0, litHours: 0 })], inv, week);
    assert.equal(r.days, 7);
    close(r.billingBaselineKwh, (170 * 11.4 * 7) / 1000, '7 days');
    close(r.baselineKwh, 0, 'never lit: no retrofit baseline');
  });

  it('rollups by municipality, gateway and group add up to the totals', async () => {
    const rows = await (await seededStore()).luminaireEnergy(day);
    const r = computeEnergy(rows, inv, day);
    close(r.measuredKwh, 2.0, 'measured');
    close(r.baselineKwh, 1.7 + 2.9 + 1.7, 'baseline');
    for (const rollup of [r.byMunicipality, r.byGateway, r.byGroup]) {
      close(
        rollup.reduce((s, x) => s + x.savedBrl, 0),
        r.savedBrl,
        'Σ rollup R$',
      );
      close(
        rollup.reduce((s, x) => s + x.measuredKwh, 0),
        r.measuredKwh,
        'Σ rollup kWh',
      );
    }
    assert.deepEqual(
      r.byGateway.map((g) => [g.gateway, g.municipality, g.luminaires]),
      [
        ['gw-b', 'belem', 2],
        ['gw-s', 'santarem', 1],
      ],
    );
    assert.deepEqual(
      r.byGroup.map((g) => [g.municipality, g.group, g.luminaires]),
      [
        ['belem', 'av', 2],
        ['santarem', 'ungrouped', 1],
      ],
    );
  });

  it('a row tagged with an unknown municipality falls back to its gateway mapping, else is left out and reported', () => {
    const r = computeEnergy(
      [
        row({ municipality: 'legacy-tag', gateway: 'gw-s', luminaire: 'x1', energyWh: 1000, litHours: 10 }),
        row({ municipality: 'nowhere', gateway: 'gw-unknown', luminaire: 'x2', energyWh: 4000, litHours: 10 }),
      ],
      inv,
      day,
    );
    assert.deepEqual(
      r.byMunicipality.map((m) => m.municipality),
      ['santarem'],
    );
    close(r.measuredKwh, 1, 'only the mapped row counts');
    assert.deepEqual(r.unassigned, { luminaires: 1, measuredKwh: 4 });
  });

  it('every figure and rollup equals the sum of each luminaire own figures (luminaireContribution), rows in any order', () => {
    // Mixed municipalities, gateways, groups and overrides, a gateway-mapped row, an unknown one, shuffled.
    const rows: LuminaireEnergy[] = [];
    for (let i = 0; i < 240; i++) {
      const belem = i % 3 !== 0;
      rows.push(
        row({
          luminaire: i % 17 === 0 ? 'lum-b2' : `lum-${i}`,
          municipality: i % 29 === 0 ? 'nowhere' : belem ? 'belem' : i % 2 ? 'santarem' : 'unknown-tag',
          gateway: belem ? `gw-b${i % 4}` : 'gw-s',
          group: `g${(i * 7) % 5}`,
          energyWh: 100 + ((i * 37) % 211) + 0.1 * (i % 7),
          litHours: 3 + ((i * 13) % 9) / 3,
        }),
      );
    }
    rows.sort((a, b) => ((a.energyWh * 7919) % 1) - ((b.energyWh * 7919) % 1));
    const r = computeEnergy(rows, inv, day);
    const days = (day.to - day.from) / (24 * HOUR);
    const want = {
      all: emptyTotals(),
      m: new Map<string, EnergyTotals>(),
      gw: new Map<string, EnergyTotals>(),
      grp: new Map<string, EnergyTotals>(),
    };
    const add = (t: EnergyTotals, c: EnergyTotals) => {
      for (const k of Object.keys(c) as (keyof EnergyTotals)[]) t[k] += c[k];
    };
    const at = (map: Map<string, EnergyTotals>, key: string) => map.get(key) ?? map.set(key, emptyTotals()).get(key)!;
    let unassigned = 0;
    for (const x of rows) {
      const m = municipalityOf(x, inv);
      if (!m) {
        unassigned++;
        continue;
      }
      const c = luminaireContribution(x, baselineWattsOf(x.luminaire, m, inv), m, days);
      add(want.all, c);
      add(at(want.m, m.id), c);
      add(at(want.gw, x.gateway), c);
      add(at(want.grp, `${m.id}/${x.group}`), c);
    }
    assert.ok(unassigned > 0 && want.m.size === 2 && want.gw.size === 5);
    const same = (got: EnergyTotals, expected: EnergyTotals, what: string) => {
      for (const k of Object.keys(expected) as (keyof EnergyTotals)[])
        assert.ok(Math.abs(got[k] - expected[k]) <= 1e-9 * Math.max(1, Math.abs(expected[k])), `${what} ${k}: ${got[k]} ≠ ${expected[k]}`);
    };
    same(r, want.all, 'total');
    assert.equal(r.unassigned.luminaires, unassigned);
    assert.deepEqual(
      r.byMunicipality.map((x) => x.municipality),
      [...want.m.keys()].sort(),
    );
    for (const x of r.byMunicipality) same(x, want.m.get(x.municipality)!, x.municipality);
    assert.deepEqual(
      r.byGateway.map((x) => x.gateway),
      [...want.gw.keys()].sort(),
    );
    for (const x of r.byGateway) same(x, want.gw.get(x.gateway)!, x.gateway);
    assert.equal(r.byGroup.length, want.grp.size);
    for (const x of r.byGroup) same(x, want.grp.get(`${x.municipality}/${x.group}`)!, `${x.municipality}/${x.group}`);
  });

  it('no data gives zeros, not NaN', () => {
    const r = computeEnergy([], inv, day);
    assert.equal(r.measuredKwh, 0);
    assert.equal(r.savedBrl, 0);
    assert.deepEqual(r.byMunicipality, []);
  });

  it('rounds for presentation only: R$ to centavos, kWh to Wh', () => {
    const r = roundReport(computeEnergy([row({ luminaire: 'lum-b1', energyWh: 600.0004, litHours: 10 })], inv, day));
    assert.equal(r.measuredKwh, 0.6);
    assert.equal(r.savedBrl, 0.88);
    assert.equal(r.billingSavedBrl, 1.07); // 1.0704
    assert.equal(r.byMunicipality[0]?.savedBrl, 0.88);
  });
});
