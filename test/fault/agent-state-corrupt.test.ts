// The agent's state file corrupted between two runs (a torn write, a bad flash block): the agent
// refuses it loudly and keeps the last good program — with the uplink down and the cloud's
// retained config gone, so only its own disk can give it the program back.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DesiredConfig } from '@poste/protocol';
import { waitFor } from '../harness/free-port';
import { clearDesired, publishDesired, retainedConfig } from './cloud-client';
import { assertNothingLost } from './expect';
import { constantProgram, HOUR } from './fleet';
import { startRig } from './rig';

/** A warn/error record of the agent's pino log that names the state file and says it was refused. */
const REFUSED = /agent-state.*(corrupt|invalid|refus|unreadable|damaged)|(corrupt|invalid|refus|unreadable|damaged).*agent-state/i;

function loudRefusal(log: string): string | undefined {
  return log.split('\n').find((line) => {
    if (!REFUSED.test(line)) return false;
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 40;
    } catch {
      return /warn|error/i.test(line); // not a pino record: plain stderr counts when it says so
    }
  });
}

test('agent-state file corrupted between runs: refused loudly, the last good program kept', async (t) => {
  const rig = await startRig({ name: 'agent-state' });
  try {
    const desired: DesiredConfig = { v: 1, version: 5, config: { scheduler: constantProgram(40) } };
    await publishDesired(rig.brokerUrl, rig.service, desired);
    const applied = await retainedConfig(
      rig.brokerUrl,
      rig.service,
      'configReported',
      15_000,
      (r) => r.version === 5 && r.status === 'applied',
    );
    assert.ok(applied, 'the agent reports version 5 applied');
    await waitFor('every luminaire at the program’s 40 %', () => rig.levels().size === 1 && rig.levels().has(40), 15_000);
    await rig.untilSim(1 * HOUR);

    // Between runs: the agent stops cleanly, the cloud forgets the config, the uplink is down.
    assert.equal(await rig.agent()!.stop(), 0, 'the agent stops cleanly');
    await clearDesired(rig.brokerUrl, rig.service);
    rig.proxy.cut();
    const stateFile = join(rig.agentDataDir, 'agent-state.json');
    const good = await readFile(stateFile, 'utf8');
    assert.match(good, /constant-40/, 'the state file held the applied program');
    // A torn write: the first half of the file, then garbage.
    await writeFile(stateFile, `${good.slice(0, Math.floor(good.length / 2))}\u0000\u0000#garbage`);
    rig.clearOverrides();
    assert.ok(!rig.levels().has(40), 'controllers run their own program while the agent is down');

    const agent = await rig.startAgent();
    const refusal = loudRefusal(agent.output()) ?? (await agent.waitForLine(REFUSED, 5_000).catch(() => undefined));
    assert.ok(
      refusal && loudRefusal(agent.output()),
      `the agent refuses the corrupted state file loudly (warn/error naming agent-state); log:\n${agent.output().slice(-3_000)}`,
    );
    t.diagnostic(`refusal: ${refusal}`);
    await waitFor(
      'the last good program back in force, from the agent’s own disk',
      () => rig.levels().size === 1 && rig.levels().has(40),
      15_000,
    );

    rig.proxy.restore();
    const reported = await retainedConfig(
      rig.brokerUrl,
      rig.service,
      'configReported',
      10_000,
      (r) => typeof r.ts === 'number' && r.ts > Date.now() - 60_000,
    );
    assert.equal(reported?.version, 5, `after the restart the agent reports version 5 in force: ${JSON.stringify(reported)}`);
    assertNothingLost(t, rig, await rig.finish(2 * HOUR));
  } finally {
    await rig.stop();
  }
});
