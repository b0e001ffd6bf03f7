// The store goes away and comes back several times mid-night, once for longer than every retry
// and reconnect backoff on the way (ingest's store retries give up after ~3 s, the agent's
// reconnect backoff tops out at 2 s here): ingest must keep what it accepted until the store takes it.
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertNothingLost } from './expect';
import { HOUR } from './fleet';
import { startRig } from './rig';

test('influxd stopped and restarted several times mid-run: every reading stored exactly once', async (t) => {
  const rig = await startRig({ name: 'influxd' });
  try {
    const outages: { atSim: number; realMs: number; signal: 'SIGTERM' | 'SIGKILL' }[] = [
      { atSim: 0.5 * HOUR, realMs: 1_000, signal: 'SIGTERM' },
      { atSim: 1.5 * HOUR, realMs: 2_500, signal: 'SIGKILL' },
      // Longer than ingest's whole retry budget and the agent's longest backoff together.
      { atSim: 2.5 * HOUR, realMs: 9_000, signal: 'SIGTERM' },
      { atSim: 5 * HOUR, realMs: 1_500, signal: 'SIGKILL' },
    ];
    for (const [i, o] of outages.entries()) {
      await rig.untilSim(o.atSim);
      if (i === 1) rig.fault(rig.fleet.engine.devices[4]!.spec.id, 'driverFailure', 'inject');
      await rig.influx.halt(o.signal);
      await sleep(o.realMs);
      await rig.influx.restart();
      t.diagnostic(`influxd down ${o.realMs} ms (${o.signal}) at +${o.atSim / HOUR} h simulated`);
    }
    rig.fault(rig.fleet.engine.devices[4]!.spec.id, 'driverFailure', 'clear');
    assertNothingLost(t, rig, await rig.finish(6 * HOUR));
  } finally {
    await rig.stop();
  }
});
