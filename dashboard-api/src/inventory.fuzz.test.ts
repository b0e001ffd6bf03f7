import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InventoryError, parseInventory } from './inventory';

/** Generated inputs (issue 8: at least 10,000 per parser in CI). */
const RUNS = 10_000;
const SEED = 20_261_124;

const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), fc.string({ maxLength: 70 }));
const num = fc.oneof(fc.double(), fc.integer({ min: -10, max: 200 }), fc.constant(1e308));
const municipality = fc.record(
  {
    id,
    name: fc.string({ maxLength: 20 }),
    timeZone: fc.oneof(fc.constantFrom('America/Sao_Paulo', 'America/Belem', 'UTC', 'Mars/Olympus', ''), fc.string({ maxLength: 30 })),
    tariffBrlPerKwh: num,
    co2KgPerKwh: num,
    estimatedDailyHours: num,
    defaultBaselineW: num,
  },
  { requiredKeys: [] },
);
const inventoryLike = fc.oneof(
  fc.record(
    {
      municipalities: fc.oneof(fc.array(municipality, { maxLength: 4 }), fc.jsonValue({ maxDepth: 3 })),
      luminaires: fc.oneof(
        fc.dictionary(id, fc.record({ baselineW: num }, { requiredKeys: [] }), { maxKeys: 5 }),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      gateways: fc.oneof(fc.dictionary(id, id, { maxKeys: 5 }), fc.jsonValue({ maxDepth: 3 })),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 5 }),
  fc.anything({ maxDepth: 3 }),
);

describe('fuzz: inventory parser', () => {
  it(`${RUNS} inventories: parseInventory returns an inventory or throws InventoryError naming a path — nothing else`, () => {
    fc.assert(
      fc.property(inventoryLike, (input) => {
        try {
          const inv = parseInventory(input);
          assert.ok(inv.municipalities.length >= 1);
          for (const m of inv.municipalities) assert.equal(inv.municipality(m.id), m);
        } catch (err) {
          if (!(err instanceof InventoryError)) throw err;
          assert.equal(typeof err.path, 'string');
          assert.match(err.message, /^inventory: /);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
