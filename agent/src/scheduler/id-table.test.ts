import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdTable } from './id-table';

describe('IdTable', () => {
  it('gives dense stable indices through growth and rehashing, non-ASCII ids included', () => {
    const t = new IdTable(4, 2); // tiny on purpose: bytes, offsets and slots all grow
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `poste-São-Paulo-${i}-ç` : `lum-${i}`));
    for (const [i, id] of ids.entries()) assert.equal(t.add(id), i);
    assert.equal(t.size, ids.length);
    ids.forEach((id, i) => {
      assert.equal(t.indexOf(id), i);
      assert.equal(t.idOf(i), id);
      assert.equal(t.add(id), i); // adding again is a lookup
    });
    assert.equal(t.size, ids.length);
    assert.equal(t.indexOf('lum-5000'), -1);
    assert.equal(t.indexOf('lum-1 '), -1); // a prefix match is not a match
    assert.equal(t.indexOf(''), -1);
    assert.equal(t.idOf(ids.length), '');
    assert.ok(t.byteLength() < ids.length * 40, `${t.byteLength()} B for ${ids.length} ids`);
  });
});
