import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from './crc32';

test('crc32 matches the published check values', () => {
  // The standard check value of CRC-32/ISO-HDLC for "123456789".
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
});

test('crc32 can be continued over chunks', () => {
  const whole = Buffer.from('store-and-forward');
  assert.equal(crc32(whole.subarray(5), crc32(whole.subarray(0, 5))), crc32(whole));
});
