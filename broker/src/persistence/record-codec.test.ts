import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, decodeRecords, encodeRecord } from './record-codec';

test('crc32 is the zlib / IEEE one', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('records round-trip, Buffers and Uint8Arrays included, and look-alike user data stays data', () => {
  const record = {
    op: 'retain',
    packet: {
      topic: 'poste/v1/gw/gw-1/state',
      payload: Buffer.from([0, 1, 2, 255, 10]),
      properties: {
        correlationData: new Uint8Array([7, 8]),
        userProperties: { '$poste.buffer.base64': 'not a buffer', note: 'line\nbreak' },
      },
    },
  };
  const line = encodeRecord(record);
  assert.equal(line.indexOf('\n'), line.length - 1, 'one line per record');
  const { records, validBytes, problem } = decodeRecords(Buffer.from(line + line));
  assert.equal(problem, undefined);
  assert.equal(validBytes, Buffer.byteLength(line) * 2);
  assert.deepEqual(records[0], {
    op: 'retain',
    packet: { ...record.packet, properties: { ...record.packet.properties, correlationData: Buffer.from([7, 8]) } },
  });
});

test('decoding stops at the first torn, corrupt or unparsable record and says where', () => {
  const good = encodeRecord({ n: 1 });
  const at = Buffer.byteLength(good);
  const torn = decodeRecords(Buffer.from(`${good}${encodeRecord({ n: 2 }).slice(0, 12)}`));
  assert.deepEqual([torn.records, torn.validBytes, torn.problem], [[{ n: 1 }], at, { offset: at, reason: 'torn record (no line end)' }]);
  const flipped = Buffer.from(good + encodeRecord({ n: 2 }) + encodeRecord({ n: 3 }));
  flipped[at + 12] = flipped[at + 12]! ^ 0x02;
  const corrupt = decodeRecords(flipped);
  assert.deepEqual([corrupt.records, corrupt.problem?.reason], [[{ n: 1 }], 'checksum mismatch']);
  const garbage = decodeRecords(Buffer.from(`${good}hello\n`));
  assert.deepEqual([garbage.records, garbage.problem?.reason], [[{ n: 1 }], 'malformed record frame']);
});
