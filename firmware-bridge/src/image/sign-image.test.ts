import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateSigningKey, signImage, verifyImage } from './sign-image';

describe('signed firmware images', () => {
  const key = generateSigningKey();
  const image = randomBytes(50_000);
  const manifest = signImage(image, { family: 'poste-native', model: 'lc-200', version: '1.4.2' }, key.privateKeyPem);

  it('verifies an untouched image with a trusted key', () => {
    const r = verifyImage(image, manifest, [key.publicKeyPem]);
    assert.equal(r.ok, true);
    assert.equal(manifest.size, 50_000);
    assert.equal(manifest.keyId, key.keyId);
  });

  it('refuses a flipped bit in the image', () => {
    const tampered = Buffer.from(image);
    tampered[1234] = tampered[1234]! ^ 1;
    const r = verifyImage(tampered, manifest, [key.publicKeyPem]);
    assert.deepEqual(r, { ok: false, reason: 'image sha256 does not match the manifest' });
  });

  it('refuses a manifest edited after signing (version bump)', () => {
    const r = verifyImage(image, { ...manifest, version: '9.9.9' }, [key.publicKeyPem]);
    assert.deepEqual(r, { ok: false, reason: 'signature does not match the manifest' });
  });

  it('refuses an image signed by a key that is not trusted', () => {
    const other = generateSigningKey();
    const r = verifyImage(image, manifest, [other.publicKeyPem]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, /not trusted/);
  });

  it('names the manifest field that is malformed', () => {
    const r = verifyImage(image, { ...manifest, sha256: 'xyz' }, [key.publicKeyPem]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, /^manifest sha256:/);
  });
});
