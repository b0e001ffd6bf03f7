// The store's disk fills up mid-night (influxd's data on a small tmpfs, filled to the last byte)
// for longer than a simulated hour, then space comes back: writes refused for lack of space are
// kept and retried, and every reading ends up stored exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountTmpfs } from '../harness/tmpfs';
import { assertNothingLost } from './expect';
import { HOUR } from './fleet';
import { startRig } from './rig';

test('the store’s disk full for a while: nothing lost once space is back', async (t) => {
  const disk = await mountTmpfs(64);
  try {
    const rig = await startRig({ name: 'disk-full', influxDir: disk.dir });
    try {
      await rig.untilSim(1 * HOUR);
      const filled = await disk.fill();
      t.diagnostic(`disk filled with ${filled} bytes`);
      // Prove the disk is really full for influxd: a write of a fresh point is refused. The point is
      // dated 2001, a shard nobody wrote: today's shard exists already (the store's rollup marks are
      // dated by the real clock), and a few bytes appended to its WAL fit in its last tmpfs page.
      const probe = await fetch(`${rig.influx.url}/write?db=${rig.database}&precision=ms`, {
        method: 'POST',
        body: `probe v=1 ${Date.UTC(2001, 0, 1)}`,
      });
      assert.notEqual(probe.status, 204, `influxd must refuse writes on a full disk, got ${probe.status}`);
      rig.fault(rig.fleet.engine.devices[9]!.spec.id, 'dayBurner', 'inject');
      await rig.untilSim(2.5 * HOUR);
      await sleep(1_000);
      await disk.free();
      // influxd 1.6 can stay broken for writes after its WAL hit ENOSPC (500s until restarted); an
      // operator freeing the disk restarts it then, which this does when a fresh write is refused.
      await sleep(500);
      // Probe with a simulated timestamp: the night's shard is the one whose WAL hit ENOSPC (a
      // point at today's date lands in a fresh shard and is accepted even while that one is broken).
      const probeAfter = await fetch(`${rig.influx.url}/write?db=${rig.database}&precision=ms`, {
        method: 'POST',
        body: `probe v=2 ${rig.clock.now()}`,
      }).then(
        (r) => r.status,
        () => 0,
      );
      t.diagnostic(`after freeing the disk influxd answers a write with ${probeAfter}${probeAfter === 204 ? '' : ': restarting it'}`);
      if (probeAfter !== 204) {
        await rig.influx.halt();
        await rig.influx.restart();
      }
      assertNothingLost(t, rig, await rig.finish(4 * HOUR));
    } finally {
      await rig.stop();
    }
  } finally {
    await disk.unmount();
  }
});
