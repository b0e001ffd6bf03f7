/**
 * Waits until `done()` holds, for as long as the system keeps moving towards it: fails only when
 * `progress()` (a figure that changes while work is being done: sim time, readings acknowledged,
 * points stored) has stayed the same for `stallMs`. A loaded machine makes a scenario slow, not
 * stuck, so there is no deadline on the whole wait; a stuck one fails with `describe()` saying why.
 * A wait longer than SLOW_WAIT_MS prints where it stands to stderr every SLOW_WAIT_MS: if the test
 * file is killed on its timeout (no failure message then), its output still shows what was slow.
 */
const SLOW_WAIT_MS = 20_000;

export async function untilDoneOrStalled(o: {
  what: string;
  done: () => boolean | Promise<boolean>;
  progress: () => string | number | Promise<string | number>;
  stallMs: number;
  intervalMs?: number;
  describe?: () => string;
}): Promise<void> {
  let last = await o.progress();
  let lastChange = Date.now();
  const started = lastChange;
  let nextReport = started + SLOW_WAIT_MS;
  for (;;) {
    if (await o.done()) return;
    const now = await o.progress();
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > o.stallMs) {
      throw new Error(`${o.what}: no progress for ${o.stallMs} ms (stuck at ${String(now)})${o.describe ? `; ${o.describe()}` : ''}`);
    }
    if (Date.now() >= nextReport) {
      nextReport += SLOW_WAIT_MS;
      console.error(`still waiting for ${o.what} after ${Math.round((Date.now() - started) / 1_000)} s: ${String(now)}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 50));
  }
}
