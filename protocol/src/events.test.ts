import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceEventSchema } from './events';

test('events: telemetryDropped is a gateway event carrying how many readings and since when', () => {
  const ok = DeviceEventSchema.safeParse({
    device: 'gw-0001',
    ts: 1_700_000_000_000,
    type: 'telemetryDropped',
    active: true,
    value: 1_234,
    detail: 'telemetry spool full: 1234 readings appended since 2023-11-14T22:13:20.000Z dropped (oldest first)',
  });
  assert.equal(ok.success, true);
  const bad = DeviceEventSchema.safeParse({ device: 'gw-0001', ts: 1, type: 'telemetryLost', active: true });
  assert.equal(bad.success, false);
  assert.deepEqual(
    bad.error?.issues.map((i) => i.path.join('.')),
    ['type'],
  );
});
