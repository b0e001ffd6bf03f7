import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions } from './firmware-version';

describe('compareVersions', () => {
  it('orders by major, minor, patch numerically (not as text)', () => {
    assert.equal(compareVersions('1.10.0', '1.9.9'), 1);
    assert.equal(compareVersions('1.9.9', '1.10.0'), -1);
    assert.equal(compareVersions('2.0.0', '2.0.0'), 0);
    assert.equal(compareVersions('1.2', '1.2.0'), 0);
  });
  it('sorts a pre-release before its release, and pre-releases among themselves', () => {
    assert.equal(compareVersions('1.4.0-rc.1', '1.4.0'), -1);
    assert.equal(compareVersions('1.4.0', '1.4.0-rc.1'), 1);
    assert.equal(compareVersions('1.4.0-rc.1', '1.4.0-rc.2'), -1);
    assert.equal(compareVersions('1.4.0-rc.1', '1.3.9'), 1);
  });
});
