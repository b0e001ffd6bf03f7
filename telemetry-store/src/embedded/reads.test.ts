import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryStore } from '../memory/store';
import type { Point } from '../types';
import { EmbeddedStore } from './store';

const T0 = Date.UTC(2026, 4, 1);
const HOUR = 3_600_000;

/**
 * 700 luminaires and 60 APs × 14 hours, one reading every 30 minutes: 9,800 luminaire hour rows,
 * five of DuckDB's 2,048-row chunks and more, so a read converts several slices of chunks with turns
 * of the event loop between them. Integer energy and dyadic hours: every sum is exact.
 */
function readings(): Point[] {
  const out: Point[] = [];
  for (let l = 0; l < 700; l++) {
    for (let half = 0; half <= 28; half++) {
      out.push({
        measurement: 'luminaire',
        tags: { municipality: `m${l % 3}`, gateway: `g${l % 7}`, luminaire: `L${l}`, group: l % 5 === 0 ? 'b' : 'a' },
        fields: { activeEnergy: half * (10 + (l % 13)), operatingHours: half / 4, status: half % 9 === 0 ? 'fault' : 'ok' },
        ts: T0 + half * 1_800_000,
      });
    }
  }
  for (let a = 0; a < 60; a++) {
    for (let half = 0; half <= 28; half++) {
      out.push({
        measurement: 'ap',
        tags: { municipality: `m${a % 3}`, gateway: `g${a % 7}`, ap: `A${a}` },
        fields: {
          bytesHousehold: half * 1_000 * (a + 1),
          bytesPublic: half * 300,
          bytesTelemedicine: half * 50,
          telemedicineSessions: Math.floor(half / 3),
          clients: (a + half) % 11,
          clientsHousehold: 2,
          clientsPublic: (a + half) % 9,
          clientsTelemedicine: half % 2,
          capacityKbps: 50_000,
        },
        ts: T0 + half * 1_800_000,
      });
    }
  }
  return out;
}

test('hour rollups read over many result chunks, converted a slice of chunks at a time, equal the memory store row for row', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-reads-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const points = readings();
  const reference = new MemoryStore();
  await reference.write(points);
  const store = new EmbeddedStore({ kind: 'embedded', path: join(dir, 'poste.duckdb') });
  await store.init();
  t.after(() => store.close());
  for (let i = 0; i < points.length; i += 5_000) await store.write(points.slice(i, i + 5_000));

  const range = { from: T0, to: T0 + 14 * HOUR };
  const got = await store.luminaireHours(range);
  const want = await reference.luminaireHours(range);
  assert.equal(want.length, 9_800);
  assert.deepEqual(got, want);
  assert.ok(
    got.every((h) => h.energyWh > 0 && h.readings >= 2),
    'every hour carries energy from its readings',
  );

  const filtered = { from: T0 + 3 * HOUR, to: T0 + 9 * HOUR, municipality: 'm1', gateway: 'g2' };
  assert.deepEqual(await store.luminaireHours(filtered), await reference.luminaireHours(filtered));
  const aps = await store.apHours(range);
  assert.equal(aps.length, 840);
  assert.ok(
    aps.every((h) => h.bytes.household > 0 && h.clients.max > 0),
    'every AP hour carries bytes and clients',
  );
  assert.deepEqual(aps, await reference.apHours(range));
});
