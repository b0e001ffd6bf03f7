// The gateway's uplink cut for a simulated hour mid-night: the agent keeps every reading the
// devices hand it, and after the link returns the store holds each one exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNothingLost } from './expect';
import { HOUR } from './fleet';
import { startRig } from './rig';

test('uplink cut for a simulated hour: every reading arrives exactly once', async (t) => {
  const rig = await startRig({ name: 'uplink' });
  try {
    await rig.untilSim(1 * HOUR);
    rig.fault(rig.fleet.engine.devices[3]!.spec.id, 'lampFailure', 'inject');
    rig.proxy.cut();
    await rig.untilSim(2 * HOUR);
    const connectionsBefore = rig.proxy.connections;
    rig.fault(rig.fleet.engine.devices[3]!.spec.id, 'lampFailure', 'clear');
    rig.fault(rig.fleet.engine.devices[7]!.spec.id, 'counterReset', 'inject');
    rig.proxy.restore();
    await rig.untilSim(3 * HOUR);
    assert.ok(rig.proxy.connections > connectionsBefore, 'the agent reconnected through the restored uplink');
    assertNothingLost(t, rig, await rig.finish(4 * HOUR));
  } finally {
    await rig.stop();
  }
});
