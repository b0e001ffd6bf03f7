// The cloud broker (with ingest) SIGKILLed mid-stream and restarted on its data directory: the
// retained desired config is still there for a new subscriber and for the agent, the agent keeps
// its program in force, and every reading reaches the store exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DesiredConfig } from '@poste/protocol';
import { waitFor } from '../harness/free-port';
import { publishDesired, retainedConfig } from './cloud-client';
import { assertNothingLost } from './expect';
import { constantProgram, HOUR } from './fleet';
import { startRig } from './rig';

test('broker SIGKILLed and restarted: retained config survives, the program stays in force, nothing lost', async (t) => {
  const rig = await startRig({ name: 'broker-kill' });
  try {
    const desired: DesiredConfig = { v: 1, version: 3, config: { scheduler: constantProgram(40) } };
    await publishDesired(rig.brokerUrl, rig.service, desired);
    const applied = await retainedConfig(
      rig.brokerUrl,
      rig.service,
      'configReported',
      15_000,
      (r) => r.version === 3 && r.status === 'applied',
    );
    assert.ok(applied, `the agent reports version 3 applied${rig.logs().slice(-3_000)}`);
    await waitFor('every luminaire at the program’s 40 %', () => rig.levels().size === 1 && rig.levels().has(40), 15_000);

    await rig.untilSim(1.5 * HOUR);
    const connections = rig.proxy.connections;
    await rig.killBroker();
    await sleep(2_000);
    await rig.startBroker();
    await waitFor('the agent back on the restarted broker', () => rig.proxy.connections > connections, 15_000);

    const retained = await retainedConfig(rig.brokerUrl, rig.service, 'configDesired', 3_000);
    assert.deepEqual(retained, desired, 'a new subscriber gets the retained desired config the broker had before the kill');
    const reported = await retainedConfig(rig.brokerUrl, rig.service, 'configReported', 3_000);
    assert.equal(reported?.version, 3, `the retained reported config still says version 3: ${JSON.stringify(reported)}`);

    // The program is still in force: controllers that lost their override get 40 % again.
    rig.clearOverrides();
    await waitFor('the agent commanding its program again', () => rig.levels().size === 1 && rig.levels().has(40), 15_000);

    assertNothingLost(t, rig, await rig.finish(3 * HOUR));
  } finally {
    await rig.stop();
  }
});
