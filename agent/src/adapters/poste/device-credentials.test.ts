// The device credentials file: hashing and verification, and 10,000 generated files (fast-check)
// through the parser — never a throw, every refusal with the path in the file and a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateDeviceSecret, hashDeviceSecret, parseDeviceCredentials } from './device-credentials';

test('device credentials: a generated secret verifies for its device only; short secrets are refused at hashing', () => {
  const secret = generateDeviceSecret();
  assert.equal(secret.length, 22);
  const r = parseDeviceCredentials(JSON.stringify({ version: 1, devices: [{ id: 'lum-1', secretHash: hashDeviceSecret(secret) }] }));
  assert.ok(r.ok);
  assert.equal(r.value.verify('lum-1', Buffer.from(secret)), true);
  assert.equal(r.value.verify('lum-1', Buffer.from(`${secret}x`)), false);
  assert.equal(r.value.verify('lum-2', Buffer.from(secret)), false);
  assert.throws(() => hashDeviceSecret('short'), /at least 16/);
  const dup = parseDeviceCredentials(
    JSON.stringify({ version: 1, devices: [0, 1].map(() => ({ id: 'lum-1', secretHash: hashDeviceSecret(secret) })) }),
  );
  assert.equal(dup.ok, false);
  if (!dup.ok) assert.deepEqual(dup.error, { path: 'devices[1].id', reason: 'duplicate of devices[0].id (lum-1)' });
});

test('device credentials fuzz: 10,000 generated files — never a throw; refusals name a path and a reason', () => {
  const hash = hashDeviceSecret('fuzz-secret-0123456789');
  const entry = fc.record(
    {
      id: fc.oneof(fc.constantFrom('lum-1', 'lum-2', 'ap-1'), fc.string({ maxLength: 70 })),
      secretHash: fc.oneof(fc.constant(hash), fc.string({ maxLength: 80 })),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );
  const file = fc.oneof(
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
    {
      weight: 7,
      arbitrary: fc
        .record(
          { version: fc.oneof(fc.constant(1), fc.jsonValue({ maxDepth: 0 })), devices: fc.array(entry, { maxLength: 5 }) },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    },
  );
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(file, (text) => {
      const r = parseDeviceCredentials(text);
      if (r.ok) accepted++;
      else {
        refused++;
        assert.ok(r.error.reason.length > 0);
        assert.equal(typeof r.error.path, 'string');
      }
    }),
    { numRuns: 10_000, seed: 0xc4ed },
  );
  assert.equal(accepted + refused, 10_000);
  assert.ok(accepted > 0 && refused > 0, `${accepted} accepted, ${refused} refused`);
});
