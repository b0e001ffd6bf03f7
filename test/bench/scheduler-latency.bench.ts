// Sensor event → changed level, engine side: feedSensorEvent then tickSensorZones (the path the agent
// takes on an event), timed until the boosted luminaires are returned. The full-city tick that would
// otherwise carry the event is timed by scheduler-dimming. End-to-end through MQTT comes with the agent.
import { DimmingEngine } from '@poste/agent/scheduler';
import type { BenchModule } from './bench-kit';
import { nowNs, percentile, report } from './bench-kit';
import { CITY_T0, cityConfig, cityLuminaires } from './scheduler-city';

function measure(n: number, events: number): { p50: number; p99: number; missed: number } {
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
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), missed };
}

export const schedulerLatencyBench: BenchModule = {
  name: 'scheduler-latency',
  description: 'sensor event → changed level (engine side)',
  run({ quick }) {
    for (const n of quick ? [1_000, 100_000] : [1_000, 1_000_000]) {
      const events = n > 10_000 ? (quick ? 200 : 500) : 2000;
      const r = measure(n, events);
      report(`sensor→level (${n} luminaires)`, { events, p50_ms: r.p50, p99_ms: r.p99, events_without_change: r.missed }, 'p99 ≤ 50 ms');
    }
  },
};
