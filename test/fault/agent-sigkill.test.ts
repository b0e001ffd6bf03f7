// The agent SIGKILLed mid-stream — once with the uplink up, once during an uplink outage and
// restarted while the uplink is still down: a reading a device saw acknowledged must survive the
// kill (the agent persists before it acks) and reach the store exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertNothingLost } from './expect';
import { HOUR } from './fleet';
import { RECONNECT_LINE_MS, startRig } from './rig';

test('agent SIGKILLed mid-stream and restarted during an outage: nothing a device saw acknowledged is lost', async (t) => {
  const rig = await startRig({ name: 'agent-kill' });
  try {
    // Mid-stream, uplink up: batches in flight northbound, device publishes in flight southbound.
    await rig.untilSim(1 * HOUR);
    await rig.killAgent();
    await sleep(300);
    await rig.startAgent();
    // Uplink down for a while, then the agent dies with a backlog it could not send.
    await rig.untilSim(2 * HOUR);
    rig.proxy.cut();
    await rig.untilSim(2.75 * HOUR);
    rig.fault(rig.fleet.engine.devices[2]!.spec.id, 'lampFailure', 'inject');
    await rig.untilSim(3 * HOUR);
    await rig.killAgent();
    await sleep(300);
    const agent = await rig.startAgent();
    await rig.untilSim(3.5 * HOUR);
    assert.ok(rig.proxy.isCut, 'the agent restarted while its uplink was still down');
    rig.proxy.restore();
    await agent.waitForLine(/north link connected/, RECONNECT_LINE_MS);
    assertNothingLost(t, rig, await rig.finish(4.5 * HOUR));
  } finally {
    await rig.stop();
  }
});
