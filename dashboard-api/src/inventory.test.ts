import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULT_BASELINE_W,
  DEFAULT_CO2_KG_PER_KWH,
  DEFAULT_ESTIMATED_DAILY_HOURS,
  InventoryError,
  loadInventory,
  parseInventory,
} from './inventory';

describe('inventory', () => {
  it('fills documented defaults', () => {
    const inv = parseInventory({ municipalities: [{ id: 'belem', name: 'Belém', tariffBrlPerKwh: 0.7 }] });
    const m = inv.municipality('belem');
    assert.equal(m?.co2KgPerKwh, DEFAULT_CO2_KG_PER_KWH);
    assert.equal(m?.estimatedDailyHours, DEFAULT_ESTIMATED_DAILY_HOURS);
    assert.equal(m?.defaultBaselineW, DEFAULT_BASELINE_W);
    assert.equal(m?.timeZone, 'America/Sao_Paulo');
    assert.deepEqual(inv.luminaires, {});
    assert.equal(inv.municipality('nope'), undefined);
  });

  it('errors name the path of the bad field', () => {
    assert.throws(
      () => parseInventory({ municipalities: [{ id: 'a', name: 'A', tariffBrlPerKwh: -1 }] }),
      (e: unknown) => e instanceof InventoryError && e.path === 'municipalities[0].tariffBrlPerKwh',
    );
    assert.throws(
      () => parseInventory({ municipalities: [{ id: 'a', name: 'A', tariffBrlPerKwh: 1, timeZone: 'Mars/Olympus' }] }),
      /municipalities\[0\]\.timeZone: unknown IANA time zone/,
    );
    assert.throws(
      () => parseInventory({ municipalities: [{ id: 'a', name: 'A', tariffBrlPerKwh: 1 }], gateways: { gw1: 'b' } }),
      /gateways\.gw1: unknown municipality b/,
    );
    assert.throws(
      () =>
        parseInventory({
          municipalities: [
            { id: 'a', name: 'A', tariffBrlPerKwh: 1 },
            { id: 'a', name: 'A2', tariffBrlPerKwh: 1 },
          ],
        }),
      /municipalities\[1\]\.id: duplicate/,
    );
  });

  it('loads from a JSON file, and errors name the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-inv-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(
        good,
        JSON.stringify({ municipalities: [{ id: 'a', name: 'A', tariffBrlPerKwh: 1 }], luminaires: { l1: { baselineW: 250 } } }),
      );
      assert.equal((await loadInventory(good)).luminaires.l1?.baselineW, 250);

      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ municipalities: [{ id: 'a', name: 'A' }] }));
      await assert.rejects(loadInventory(bad), (e: Error) => e.message.startsWith(`${bad}: municipalities[0].tariffBrlPerKwh`));

      const notJson = join(dir, 'broken.json');
      await writeFile(notJson, '{');
      await assert.rejects(loadInventory(notJson), new RegExp(`^InventoryError: ${notJson.replace(/[.]/g, '\\.')}: not JSON`));
      await assert.rejects(loadInventory(join(dir, 'missing.json')), /missing\.json: cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
