import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { UNGROUPED } from '../measurements';
import { DayTier, GROUP_TABLE, SERIES_TABLE } from './day-tier';

test('the name cache orders every series by name as ids arrive in any order, each once, whatever reads load them together', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const tier = new DayTier(-3);
    await conn.run(`CREATE TABLE luminaire_hour (municipality VARCHAR, gateway VARCHAR, luminaire VARCHAR, hour_start BIGINT, readings BIGINT,
      first_ts BIGINT, last_ts BIGINT, d0 DOUBLE, d1 DOUBLE, grp VARCHAR)`);
    await tier.ensure(conn);
    const names = tier.names;
    const all: string[][] = [];
    const add = async (rows: string[][]) => {
      all.push(...rows);
      await conn.run(
        tier.newSeriesSql(
          `SELECT * FROM (VALUES ${rows.map((r) => `('${r.join("', '")}')`).join(', ')}) v(municipality, gateway, luminaire)`,
        ),
      );
    };
    const expected = () => [...all].sort((a, b) => (a.join('\u0000') < b.join('\u0000') ? -1 : 1)).map((r) => r.join('/'));
    const ordered = () => [...names.order()].map((id) => `${names.municipalityOf(id)}/${names.gatewayOf(id)}/${names.luminaireOf(id)}`);
    await add([
      ['m2', 'g1', 'L9'],
      ['m1', 'g2', 'L1'],
      ['m1', 'g1', 'Lé'],
      ['m1', 'g1', 'L10'],
    ]);
    await Promise.all([names.cover(conn, 3, -1), names.cover(conn, 3, -1)]);
    assert.deepEqual(ordered(), expected());
    // Later ids, some sorting first, loaded by two reads at once: merged into the order, once each.
    await add([
      ['m0', 'g9', 'L0'],
      ['m1', 'g1', 'L2'],
      ['m3', 'g0', 'L0'],
    ]);
    await Promise.all([names.cover(conn, 6, -1), names.cover(conn, 5, -1)]);
    assert.deepEqual(ordered(), expected());
    assert.equal(names.seriesCount, 7);

    await conn.run(tier.newGroupsSql(`SELECT * FROM (VALUES ('b'), ('a')) v(grp)`));
    await names.cover(conn, 6, 1);
    assert.deepEqual([names.groupOf(0), names.groupOf(1), names.groupOf(-1)], ['a', 'b', UNGROUPED]);
    await assert.rejects(names.cover(conn, 7, -1), /series id 7 or group id -1 has no name/);
    // A rebuild (at open) renumbers: the cache starts again.
    await conn.run(`DROP TABLE ${SERIES_TABLE}; DROP TABLE ${GROUP_TABLE}`);
    await tier.ensure(conn);
    assert.equal(names.seriesCount, 0);
    assert.equal(names.order().length, 0);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
});
