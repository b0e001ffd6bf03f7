// Sensor event → changed level, engine side: feedSensorEvent then tickSensorZones (the path the agent
// takes on an event), timed until the boosted luminaires are returned; and the agent's periodic
// whole-installation tick on a real timer (1,000 ms, the runner's default), timed from its scheduled
// instant to its result. Each reports misses — results later than the 50 ms deadline — beside its
// percentiles, because a percentile hides how many were late. End-to-end through MQTT:
// gateway-latency.
import { setTimeout as sleep } from 'node:timers/promises';
import { DimmingEngine } from '@poste/agent/scheduler';
import type { BenchModule } from './bench-kit';
import { nowNs, percentile, report } from './bench-kit';
import { CITY_T0, cityConfig, cityLuminaires } from './scheduler-city';

/** A level change due at t must be computed by t + 50 ms (docs/architecture.md targets). */
const DEADLINE_MS = 50;
const TICK_PERIOD_MS = 1000;

interface Latency {
  p50: number;
  p99: number;
  max: number;
  /** results later than the deadline */
  misses: number;
}

function summarise(ms: number[]): Latency {
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms), misses: ms.filter((x) => x > DEADLINE_MS).length };
}

function sensorEngine(n: number): DimmingEngine {
  const e = new DimmingEngine(n);
  // One motion sensor per group (zone), hold 1 s, no ramp: an event must show up in the very next tick.
  const groups = Math.ceil(n / 50);
  const cfg = cityConfig(groups, true);
  cfg.dynamicControls = Array.from({ length: groups }, (_, g) => ({
    id: `m${g}`,
    sensors: [`s${g}`],
    groups: [`g${g}`],
    mode: 'max' as const,
    level: 100,
    holdMs: 1000,
  }));
  const r = e.applyConfig(cfg);
  if (!r.ok) throw new Error(r.error.path);
  for (const spec of cityLuminaires(n)) e.register(spec);
  return e;
}

function measureEvents(n: number, events: number): Latency & { withoutChange: number } {
  const e = sensorEngine(n);
  const groups = Math.ceil(n / 50);
  let t = CITY_T0 + 3600_000; // 20:00 local, program at 90
  e.tick(t);
  const lat: number[] = [];
  let missed = 0;
  for (let k = -20; k < events; k++) {
    // 2 s apart, cycling zones: each zone is back at its program level when its sensor fires again
    t += 2000;
    e.tick(t - 1);
    const start = nowNs();
    e.feedSensorEvent(`s${(k * 7) % groups}`, t);
    const c = e.tickSensorZones(t);
    const ms = Number(nowNs() - start) / 1e6;
    if (k < 0) continue; // warm-up
    if (c.count === 0) missed++;
    lat.push(ms);
  }
  return { ...summarise(lat), withoutChange: missed };
}

/**
 * The periodic tick as the agent runs it: scheduled at absolute instants one period apart (a late
 * tick does not shift the next), each timed from its scheduled instant until its changes are out,
 * so timer lateness and event-loop stalls count, not only the computation. Simulated city time
 * advances one minute per tick so program steps fall inside the run.
 */
async function measurePeriodic(n: number, ticks: number): Promise<Latency> {
  const e = sensorEngine(n);
  e.tick(CITY_T0);
  const late: number[] = [];
  const start = performance.now() + TICK_PERIOD_MS;
  for (let k = 0; k < ticks; k++) {
    const due = start + k * TICK_PERIOD_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    e.tick(CITY_T0 + (k + 1) * 60_000);
    late.push(performance.now() - due);
  }
  return summarise(late);
}

export const schedulerLatencyBench: BenchModule = {
  name: 'scheduler-latency',
  description: 'sensor event → changed level (engine side)',
  async run({ quick }) {
    for (const n of quick ? [1_000, 100_000] : [1_000, 1_000_000]) {
      const events = n > 10_000 ? (quick ? 200 : 500) : 2000;
      const r = measureEvents(n, events);
      if (r.withoutChange > 0) throw new Error(`${r.withoutChange} of ${events} sensor events changed no level`);
      report(
        `sensor→level (${n} luminaires)`,
        { events, p50_ms: r.p50, p99_ms: r.p99, max_ms: r.max, misses_gt_50ms: r.misses },
        'p99 ≤ 50 ms, misses 0',
      );
    }
    const n = quick ? 100_000 : 1_000_000;
    const ticks = quick ? 10 : 30;
    const p = await measurePeriodic(n, ticks);
    report(
      `periodic tick, due→done (${n} lum)`,
      { ticks, period_ms: TICK_PERIOD_MS, p50_ms: p.p50, p99_ms: p.p99, max_ms: p.max, misses_gt_50ms: p.misses },
      'misses 0',
    );
  },
};
