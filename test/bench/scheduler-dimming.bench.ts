// Dimming tick over a whole city: the SoA engine beside a careful per-object implementation (group
// level once per tick, CLO once per luminaire), same config, same luminaires, same tick instants, in
// this process — and every timed tick's commands are compared, so the ratio is for the same output.
// Memory is what the engine holds (heap + array buffers after a forced collection, ids included).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DimmingEngine, PerObjectDimming } from '@poste/agent/scheduler';
import type { BenchModule } from './bench-kit';
import { fmt, median, msSince, nowNs, report, timeRuns } from './bench-kit';
import { CITY_T0, cityConfig, cityLuminaires } from './scheduler-city';

const MIN = 60_000;

function buildEngine(n: number, withDynamics: boolean): DimmingEngine {
  const e = new DimmingEngine(n);
  const r = e.applyConfig(cityConfig(Math.ceil(n / 50), withDynamics));
  if (!r.ok) throw new Error(`config: ${r.error.path}: ${r.error.reason}`);
  for (const spec of cityLuminaires(n)) e.register(spec);
  return e;
}

/** Bytes the process holds (V8 heap + typed-array backing stores) after full collections. */
function heldBytes(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Throws unless the engine's changes are exactly the baseline's commands, in the same order. */
function assertSameCommands(
  engine: DimmingEngine,
  idx: Int32Array,
  lv: Float32Array,
  count: number,
  base: { id: string; level: number }[],
  at: number,
): void {
  if (count !== base.length) throw new Error(`${new Date(at).toISOString()}: engine ${count} commands, per-object ${base.length}`);
  for (let k = 0; k < count; k++) {
    const b = base[k];
    if (!b || engine.idOf(idx[k] as number) !== b.id || lv[k] !== b.level)
      throw new Error(
        `${new Date(at).toISOString()}: command ${k} differs: engine ${engine.idOf(idx[k] as number)}=${lv[k]}, per-object ${b?.id}=${b?.level}`,
      );
  }
}

export const schedulerDimmingBench: BenchModule = {
  name: 'scheduler-dimming',
  description: 'dimming tick over N luminaires vs a careful per-object implementation (same commands, asserted)',
  run({ quick }) {
    const n = quick ? 100_000 : 1_000_000;
    const runs = quick ? 9 : 15;
    // Tick instants one minute apart from 19:02 local; the 19:05 program step makes one tick change
    // every luminaire, the rest are steady-state ticks (the common case). Two warm-up ticks first.
    const at = (k: number) => CITY_T0 + (k + 2) * MIN;

    const before = heldBytes();
    const engine = buildEngine(n, false);
    engine.tick(CITY_T0);
    const held = heldBytes() - before;
    const baseline = new PerObjectDimming();
    if (!baseline.applyConfig(cityConfig(Math.ceil(n / 50), false))) throw new Error('baseline config');
    for (const spec of cityLuminaires(n)) baseline.register(spec);
    baseline.tick(CITY_T0);
    engine.tick(CITY_T0 + MIN);
    baseline.tick(CITY_T0 + MIN);

    // Interleaved: engine tick (timed), baseline tick at the same instant (timed), comparison (not timed).
    const engineMs: number[] = [];
    const baseMs: number[] = [];
    let changed = 0;
    for (let k = 0; k < runs; k++) {
      let t = nowNs();
      const c = engine.tick(at(k));
      engineMs.push(msSince(t));
      t = nowNs();
      const b = baseline.tick(at(k));
      baseMs.push(msSince(t));
      assertSameCommands(engine, c.index, c.level, c.count, b, at(k));
      changed += c.count;
    }

    const med = median(engineMs);
    const baseMed = median(baseMs);
    report(
      'dimming tick (engine)',
      {
        N: n,
        median_ms: med,
        min_ms: Math.min(...engineMs),
        max_ms: Math.max(...engineMs),
        ns_per_lum: (med * 1e6) / n,
        state_B_per_lum: fmt(engine.stateBytes() / n, 1),
        held_B_per_lum: fmt(held / n, 1),
        changes: changed,
      },
      '≤ 20 ms, ≤ 64 B/luminaire held (ids and id index included)',
    );
    report('dimming tick (per-object)', {
      N: n,
      median_ms: baseMed,
      min_ms: Math.min(...baseMs),
      max_ms: Math.max(...baseMs),
      ns_per_lum: (baseMed * 1e6) / n,
      same_commands: 'yes',
    });
    // The ratio of minima too: on a shared machine the fastest tick of each is the least disturbed.
    report(
      'dimming ratio',
      { speedup_median: `${fmt(baseMed / med, 1)}x`, speedup_min: `${fmt(Math.min(...baseMs) / Math.min(...engineMs), 1)}x` },
      '≥ 30x',
    );

    // Same engine with every feature on: power caps on 10 % of groups, motion controls, an override.
    const fullBefore = heldBytes();
    const full = buildEngine(n, true);
    full.tick(CITY_T0);
    full.tick(CITY_T0 + MIN);
    let fullChanged = 0;
    const fullMs = timeRuns(runs, 0, (k) => {
      if (k % 3 === 0) for (let s = 0; s < 20; s++) full.feedSensorEvent(`s${s}`, at(k));
      fullChanged += full.tick(at(k)).count;
    });
    full.tickSensorZones(at(runs)); // builds the sensor member lists, so they are counted too
    const fullHeld = heldBytes() - fullBefore;
    const fmed = median(fullMs);
    report(
      'dimming tick (caps+sensors+ovr)',
      {
        N: n,
        median_ms: fmed,
        max_ms: Math.max(...fullMs),
        ns_per_lum: (fmed * 1e6) / n,
        state_B_per_lum: fmt(full.stateBytes() / n, 1),
        held_B_per_lum: fmt(fullHeld / n, 1),
        changes: fullChanged,
      },
      '≤ 20 ms, ≤ 64 B/luminaire held',
    );
  },
};
