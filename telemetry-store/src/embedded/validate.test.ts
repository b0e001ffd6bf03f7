import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MEASUREMENTS, SERIES_KEY_TAGS } from '../measurements';
import type { Point } from '../types';
import { type ColumnType, KNOWN_COLUMNS } from './sql';
import { validatePoints } from './validate';

/** The column maps of a fresh store (the key tags and ts, then the known columns). */
function freshColumns(): Map<Point['measurement'], Map<string, ColumnType>> {
  return new Map(
    MEASUREMENTS.map((m) => [
      m,
      new Map<string, ColumnType>([
        ...SERIES_KEY_TAGS[m].map((t) => [t, 'VARCHAR'] as [string, ColumnType]),
        ['ts', 'DOUBLE'],
        ...(Object.entries(KNOWN_COLUMNS[m]) as Array<[string, ColumnType]>),
      ]),
    ]),
  );
}

function reading(tags: Record<string, string>, fields: Point['fields'], ts = 1_000): Point {
  return { measurement: 'luminaire', tags, fields, ts };
}

const TAGS = { municipality: 'm', gateway: 'g', luminaire: 'l1', group: 'g1' };
const FIELDS = { activePower: 80, activeEnergy: 1_000, status: 'ok' };

// A point shaped like one that passed goes through a shortcut (validate.ts, fieldsLikeLastPassed):
// each refusal below follows passing points of the same field names, frozen (ingest's shared tags)
// and not, so it must be caught by the shortcut or make it fall back to the full checks.
for (const frozen of [false, true]) {
  test(`after points that passed, one of the same shape is still refused for its own problem (${frozen ? 'frozen' : 'unfrozen'} tags)`, () => {
    const tags = frozen ? Object.freeze({ ...TAGS }) : { ...TAGS };
    const columns = freshColumns();
    const good = [reading(tags, { ...FIELDS }), reading({ ...TAGS, luminaire: 'l2' }, { ...FIELDS })];
    const bad: Array<[Point, RegExp]> = [
      [reading(tags, { ...FIELDS, activePower: Number.NaN }), /non-finite/],
      [reading(tags, { ...FIELDS, activePower: Number.POSITIVE_INFINITY }), /non-finite/],
      [reading(tags, { ...FIELDS, activePower: '80' as unknown as number }), /type conflict/],
      [reading(tags, { ...FIELDS, status: 3 }), /type conflict/],
      [reading(tags, { ...FIELDS, status: true }), /type conflict/],
      [reading({ ...TAGS, status: 'ok' }, { ...FIELDS }), /both a tag and a field/],
      [reading({ ...TAGS, group: 7 as unknown as string }, { ...FIELDS }), /tag value must be a string/],
      [reading(tags, { ...FIELDS, ts: 5 }), /unusable field name/],
      [reading(tags, { ...FIELDS }, 1.5), /integer ms/],
      [reading({ municipality: 'm', gateway: 'g', group: 'g1' }, { ...FIELDS }), /without tag luminaire/],
    ];
    const batch = [...good, ...bad.map(([p]) => p), ...good];
    const { accepted, refused, newColumns } = validatePoints(batch, columns);
    assert.deepEqual(newColumns, []);
    assert.equal(accepted.length, 4);
    assert.deepEqual(
      refused.map((r) => r.index),
      bad.map((_, i) => good.length + i),
    );
    for (const [i, r] of refused.entries()) assert.match(r.reason, bad[i]![1], `point ${r.index}: ${r.reason}`);
  });
}

test('a point with a field more or less than the last one that passed is checked in full: a new column is noted, a missing field is fine', () => {
  const columns = freshColumns();
  const { accepted, refused, newColumns } = validatePoints(
    [
      reading({ ...TAGS }, { ...FIELDS }),
      reading({ ...TAGS }, { ...FIELDS, colour: 'amber' }),
      reading({ ...TAGS }, { activePower: 80 }),
      reading({ ...TAGS, pole: 'p9' }, { ...FIELDS }),
    ],
    columns,
  );
  assert.equal(accepted.length, 4);
  assert.deepEqual(refused, []);
  assert.deepEqual(
    newColumns.map((c) => `${c.name}:${c.type}`),
    ['colour:VARCHAR', 'pole:VARCHAR'],
  );
});

test('what passed against one store’s columns is checked again against another’s', () => {
  const first = freshColumns();
  assert.equal(validatePoints([reading({ ...TAGS }, { ...FIELDS, colour: 'amber' })], first).newColumns.length, 1);
  first.get('luminaire')!.set('colour', 'VARCHAR');
  assert.equal(validatePoints([reading({ ...TAGS }, { ...FIELDS, colour: 'amber' })], first).accepted.length, 1);
  // Another store where colour became a number column: the same shape is a type conflict there.
  const second = freshColumns();
  second.get('luminaire')!.set('colour', 'DOUBLE');
  const { refused } = validatePoints([reading({ ...TAGS }, { ...FIELDS, colour: 'amber' })], second);
  assert.match(refused[0]?.reason ?? '', /type conflict/);
});
