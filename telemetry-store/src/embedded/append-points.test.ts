import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Point } from '../types';
import { appendPoints } from './append-points';
import type { ColumnType } from './sql';

// appendPoints finds each value's column by the name at the same position in the point before
// (append-points.ts, PointWalk): points whose tags and fields come in other orders, lack some, or
// carry others must still land in their own columns, with NULL where a point has no value.
test('points of mixed shapes land value for value in their columns, NULL where absent, across data chunks', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(
      'CREATE TABLE luminaire (municipality VARCHAR NOT NULL, gateway VARCHAR NOT NULL, luminaire VARCHAR NOT NULL, ts BIGINT NOT NULL, "group" VARCHAR, activePower DOUBLE, status VARCHAR, dimLevel DOUBLE, lit BOOLEAN)',
    );
    const columns = new Map<Point['measurement'], Map<string, ColumnType>>([
      [
        'luminaire',
        new Map<string, ColumnType>([
          ['municipality', 'VARCHAR'],
          ['gateway', 'VARCHAR'],
          ['luminaire', 'VARCHAR'],
          ['ts', 'BIGINT' as ColumnType],
          ['group', 'VARCHAR'],
          ['activePower', 'DOUBLE'],
          ['status', 'VARCHAR'],
          ['dimLevel', 'DOUBLE'],
          ['lit', 'BOOLEAN'],
        ]),
      ],
    ]);
    const n = 4_500;
    const points = Array.from({ length: n }, (_, i): Point => {
      const id = `lum-${i}`;
      // Shapes rotate: ingest's order, reversed, fields missing, a tag missing, only one field.
      const shape = i % 5;
      const ts = -86_400_000 + i * 1_000 * (i % 2 === 0 ? 1 : 4_000_000);
      if (shape === 0)
        return {
          measurement: 'luminaire',
          tags: { municipality: 'm', gateway: 'g', luminaire: id, group: 'g1' },
          fields: { activePower: i * 0.5, status: 'ok', dimLevel: 70, lit: true },
          ts,
        };
      if (shape === 1)
        return {
          measurement: 'luminaire',
          tags: { group: 'g2', luminaire: id, gateway: 'g', municipality: 'm' },
          fields: { lit: false, dimLevel: 30, status: 'ção', activePower: -i },
          ts,
        };
      if (shape === 2)
        return {
          measurement: 'luminaire',
          tags: { municipality: 'm', gateway: 'g', luminaire: id, group: 'g1' },
          fields: { status: 'fault' },
          ts,
        };
      if (shape === 3)
        return {
          measurement: 'luminaire',
          tags: { municipality: 'm', gateway: 'g', luminaire: id },
          fields: { activePower: 1, status: 'a status longer than twelve bytes', dimLevel: 0, lit: true },
          ts,
        };
      return {
        measurement: 'luminaire',
        tags: { municipality: 'm', gateway: 'g', luminaire: id, group: 'g3' },
        fields: { dimLevel: 5 },
        ts,
      };
    });
    await appendPoints(conn, columns, points);
    const back = (
      await conn.runAndReadAll(
        'SELECT municipality, gateway, luminaire, ts, "group", activePower, status, dimLevel, lit FROM luminaire ORDER BY CAST(substr(luminaire, 5) AS INTEGER)',
      )
    ).getRowsJS();
    assert.equal(back.length, n);
    for (let i = 0; i < n; i++) {
      const p = points[i]!;
      const f = p.fields;
      const expected = [
        p.tags.municipality,
        p.tags.gateway,
        p.tags.luminaire,
        BigInt(p.ts),
        p.tags.group ?? null,
        f.activePower ?? null,
        f.status ?? null,
        f.dimLevel ?? null,
        f.lit ?? null,
      ];
      assert.deepEqual(back[i], expected, `point ${i}`);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
});
