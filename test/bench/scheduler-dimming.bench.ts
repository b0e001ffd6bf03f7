// Dimming tick over a whole city: the SoA engine beside the per-object reference, same config, same
// luminaires, same tick instants, in this process. Bytes/luminaire = typed-array state / N.
import { DimmingEngine, PerObjectDimming } from '@poste/agent/scheduler';
import type { BenchModule } from './bench-kit';
import { fmt, median, report, timeRuns } from './bench-kit';
import { CITY_T0, cityConfig, cityLuminaires } from './scheduler-city';

const MIN = 60_000;

function buildEngine(n: number, withDynamics: boolean): DimmingEngine {
  const e = new DimmingEngine(n);
  const r = e.applyConfig(cityConfig(Math.ceil(n / 50), withDynamics));
  if (!r.ok) throw new Error(`config: ${r.error.path}: ${r.error.reason}`);
  for (const spec of cityLuminaires(n)) e.register(spec);
  return e;
}

export const schedulerDimmingBench: BenchModule = {
  name: 'scheduler-dimming',
  description: 'dimming tick over N luminaires vs a per-object implementation',
  run({ quick }) {
    const n = quick ? 100_000 : 1_000_000;
    const runs = quick ? 9 : 15;
    // Tick instants one minute apart from 19:02 local; the 19:05 program step makes one tick change
    // every luminaire, the rest are steady-state ticks (the common case). Warm-up ticks first.
    const at = (k: number) => CITY_T0 + (k + 2) * MIN;

    const heapBefore = process.memoryUsage().heapUsed;
    const engine = buildEngine(n, false);
    const heapEngine = process.memoryUsage().heapUsed - heapBefore;
    let changed = 0;
    engine.tick(CITY_T0);
    engine.tick(CITY_T0 + MIN);
    const engineMs = timeRuns(runs, 0, (k) => {
      changed += engine.tick(at(k)).count;
    });

    const baseline = new PerObjectDimming();
    if (!baseline.applyConfig(cityConfig(Math.ceil(n / 50), false))) throw new Error('baseline config');
    for (const spec of cityLuminaires(n)) baseline.register(spec);
    let baseChanged = 0;
    baseline.tick(CITY_T0);
    baseline.tick(CITY_T0 + MIN);
    const baseRuns = quick ? 5 : 3;
    // Baseline ticks at 19:02, 19:05 (the step), 19:06 … so it sees the all-change tick once too.
    const baseMs = timeRuns(baseRuns, 0, (k) => {
      baseChanged += baseline.tick(at(k === 0 ? 0 : k + 2)).length;
    });

    const bytes = engine.stateBytes() / n;
    const med = median(engineMs);
    const baseMed = median(baseMs);
    report(
      'dimming tick (engine)',
      {
        N: n,
        median_ms: med,
        max_ms: Math.max(...engineMs),
        ns_per_lum: (med * 1e6) / n,
        bytes_per_lum: fmt(bytes, 1),
        heap_incl_ids_B_per_lum: fmt(heapEngine / n, 0),
        changes: changed,
      },
      '≤ 20 ms, ≤ 64 B/luminaire',
    );
    report('dimming tick (per-object)', { N: n, median_ms: baseMed, ns_per_lum: (baseMed * 1e6) / n, changes: baseChanged });
    report('dimming ratio', { speedup: `${fmt(baseMed / med, 1)}x` }, '≥ 30x');

    // Same engine with every feature on: power caps on 10 % of groups, motion controls, an override.
    const full = buildEngine(n, true);
    full.tick(CITY_T0);
    full.tick(CITY_T0 + MIN);
    let fullChanged = 0;
    const fullMs = timeRuns(runs, 0, (k) => {
      if (k % 3 === 0) for (let s = 0; s < 20; s++) full.feedSensorEvent(`s${s}`, at(k));
      fullChanged += full.tick(at(k)).count;
    });
    const fmed = median(fullMs);
    report(
      'dimming tick (caps+sensors+ovr)',
      {
        N: n,
        median_ms: fmed,
        max_ms: Math.max(...fullMs),
        ns_per_lum: (fmed * 1e6) / n,
        bytes_per_lum: fmt(full.stateBytes() / n, 1),
        changes: fullChanged,
      },
      '≤ 20 ms',
    );
  },
};
