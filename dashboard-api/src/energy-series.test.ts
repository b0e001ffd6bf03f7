import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LuminaireHour } from '@poste/telemetry-store';
import { computeEnergySeries, energySeriesSums } from './energy-series';
import { parseInventory } from './inventory';

const HOUR = 3_600_000;
const FROM = Date.UTC(2026, 9, 1, 3);

const inventory = parseInventory({
  municipalities: [
    { id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 },
    { id: 'recife', name: 'Recife', timeZone: 'America/Recife', tariffBrlPerKwh: 0.9 },
  ],
  gateways: {},
});

/** Hours of luminaires in two known municipalities and one the inventory does not know, in store order. */
function hoursOf(count: number): LuminaireHour[] {
  const municipalities = ['belem', 'recife', 'nowhere'];
  const out: LuminaireHour[] = [];
  for (let i = 0; i < count; i++) {
    const luminaire = `lum-${i % 37}`;
    out.push({
      hourStart: FROM + Math.floor(i / 37) * HOUR,
      municipality: municipalities[(i % 37) % 3]!,
      gateway: `gw-${i % 5}`,
      luminaire,
      group: i % 2 === 0 ? 'av' : 'rua',
      energyWh: 40 + (i % 11) * 1.7,
      litHours: (i % 4) / 4,
      readings: 4,
      statusCounts: { ok: 4 },
    });
  }
  return out;
}

describe('energySeriesSums', () => {
  it('fed in slices of any size, answers what computeEnergySeries answers for all the rows at once', () => {
    const hours = hoursOf(37 * 30);
    for (const granularity of ['hour', 'day'] as const) {
      const range = { from: FROM, to: FROM + 30 * HOUR, granularity };
      for (const filter of [{}, { group: 'av' }]) {
        const whole = computeEnergySeries(hours, inventory, range, filter);
        assert.ok(whole.points.length > 1 && whole.unassigned.luminaireHours > 0, 'the rows span buckets and an unknown municipality');
        for (const slice of [1, 7, 400, hours.length]) {
          const sums = energySeriesSums(inventory, range, filter);
          for (let start = 0; start < hours.length; start += slice) sums.add(hours, start, Math.min(hours.length, start + slice));
          assert.deepEqual(sums.result(), whole, `${granularity}, slices of ${slice}, ${JSON.stringify(filter)}`);
        }
      }
    }
  });

  it('adds only the rows of the slice it is given', () => {
    const hours = hoursOf(74);
    const range = { from: FROM, to: FROM + 2 * HOUR, granularity: 'hour' as const };
    const sums = energySeriesSums(inventory, range);
    sums.add(hours, 0, 37);
    assert.deepEqual(sums.result(), computeEnergySeries(hours.slice(0, 37), inventory, range));
  });
});
