// A DuckDB file written before the AP coproduction counters (ap_hour without d3…c5) opens, keeps
// its hours, and counts sessions and the reserve's seconds from then on.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { FIRST_ROLLED_COUNTERS, ROLLED_COUNTERS } from '../rollups/rows';
import { apPoint } from '../testing/fixtures';
import { EmbeddedStore } from './store';

const T0 = Date.UTC(2025, 0, 15);
const H = 3_600_000;
const MIN = 60_000;

const ap = (ts: number, bytesPublic: number, co?: { sessions: number; measuredS: number; honouredS: number }) => {
  const p = apPoint('ap-old', ts);
  const fields = { ...p.fields, bytesPublic };
  return co
    ? { ...p, fields: { ...fields, telemedicineSessions: co.sessions, reserveMeasuredS: co.measuredS, reserveHonouredS: co.honouredS } }
    : { ...p, fields };
};

test('embedded: an ap_hour table from before the coproduction counters gains their columns and keeps its rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-rollup-migration-'));
  const path = join(dir, 'telemetry.duckdb');
  try {
    const first = new EmbeddedStore({ kind: 'embedded', path });
    await first.init();
    await first.write([ap(T0 + 10 * MIN, 1_000), ap(T0 + 40 * MIN, 3_000)]);
    await first.close();

    // Make it the earlier layout: the later counters' columns were not there.
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    for (const prefix of ['d', 's', 'c'])
      for (let i = FIRST_ROLLED_COUNTERS.ap; i < ROLLED_COUNTERS.ap.length; i++)
        await conn.run(`ALTER TABLE ap_hour DROP COLUMN ${prefix}${i}`);
    conn.closeSync();
    db.closeSync();

    const store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    try {
      await store.write([
        ap(T0 + H + 10 * MIN, 4_000, { sessions: 2, measuredS: 600, honouredS: 600 }),
        ap(T0 + H + 50 * MIN, 9_000, { sessions: 5, measuredS: 3_000, honouredS: 2_400 }),
      ]);
      const [h0, h1] = await store.apHours({ from: T0, to: T0 + 2 * H });
      assert.equal(h0?.bytes.public, 2_000, 'the old hour is kept');
      assert.equal(h0?.telemedicineSessions, 0);
      assert.equal(h1?.bytes.public, 6_000, 'bytes chain on from the old hour');
      // The sessions counter has no earlier value: its first reading is the start, as for any new counter.
      assert.equal(h1?.telemedicineSessions, 3);
      assert.deepEqual(h1?.reserve, { measuredS: 2_400, honouredS: 1_800 });
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
