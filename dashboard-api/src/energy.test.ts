import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LuminaireEnergy } from '@poste/telemetry-store';
import { computeEnergy, roundReport } from './energy';
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
