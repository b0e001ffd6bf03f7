import type { Clock } from '@poste/protocol';
import type { TelemetryStore } from '@poste/telemetry-store';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { baselineSourceOf } from './energy-cells';
import type { Inventory } from './inventory';

const DAY_MS = 86_400_000;

/**
 * The background builder of the store's savings-cell packs (docs/scaling.md §4). Options of
 * `createDashboardApi({ packBuilder })`; the builder runs only on a store that keeps such packs
 * (InfluxDB 1.x: `TelemetryStore.staleCellDays`).
 */
export const PackBuilderSchema = z
  .object({
    enabled: z.boolean().default(true).describe('build the packs of closed days ahead of the reads (only on a store that keeps them)'),
    intervalMs: z
      .number()
      .int()
      .min(1_000)
      .default(300_000)
      .describe('real ms between the end of a pass and the start of the next (the first pass starts at once)'),
    horizonDays: z.number().int().positive().max(36_600).default(400).describe('closed days kept packed, counting back from now'),
    maxDaysPerPass: z
      .number()
      .int()
      .positive()
      .default(200)
      .describe('most municipality-days one pass sums from the hour rows (newest first); the rest wait for the next pass'),
    stepDays: z
      .number()
      .int()
      .min(1)
      .max(32)
      .default(2)
      .describe('consecutive days of one municipality summed per step (one store read; the answer is parsed in one go)'),
    share: z
      .number()
      .positive()
      .max(1)
      .default(0.25)
      .describe('share of wall-clock time the builder may spend in store reads: after a step of d ms it rests d × (1 − share) / share ms'),
  })
  .strict();
export type PackBuilderOptions = z.output<typeof PackBuilderSchema>;
export type PackBuilderInput = z.input<typeof PackBuilderSchema>;

export interface PackPassReport {
  /** municipality-days found without a current pack */
  stale: number;
  /** municipality-days summed and packed by this pass */
  built: number;
  /** days whose list of municipalities was written (programme-wide reads) */
  directories: number;
  /** 32-day windows read so their blocks are packed */
  windows: number;
  /** true when the pass stopped early (shutdown) */
  stopped: boolean;
  ms: number;
}

export interface PackBuilder {
  /** Runs a pass now, or joins the one running (passes never overlap). */
  runPass(): Promise<PackPassReport>;
  /** Stops the timer and the running pass after its current step; resolves once it has. */
  stop(): Promise<void>;
}

interface BuilderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Keeps the savings-cell packs of closed days current before anyone asks, so the dashboard's
 * savings over any range inside the horizon is read from packs (a few tens of ms) instead of the
 * hour rows (seconds to minutes the first time). It uses the read path itself: each step is an
 * `energyCells` read of a few stale days of one municipality, which sums them and writes their
 * packs back (cell-tier.ts); then the days' lists of municipalities are written (programme-wide
 * reads) and a read of each 32-day window touched packs its blocks.
 *
 * Order: newest first over the whole programme. The ranges asked most (last 7 or 30 days) and
 * late readings are recent; after a restart or a change of baselines (every day stale) the
 * common query is fast soonest, and the old tail fills in over the next passes.
 * Bounds: one pass at a time, at most `maxDaysPerPass` summed days, one municipality per step,
 * a rest after each step (`share`), stop between steps.
 */
export function startPackBuilder(o: {
  store: TelemetryStore;
  inventory: Inventory;
  clock: Clock;
  options?: PackBuilderInput;
  logger?: BuilderLogger;
  /** the dashboard's registry; metrics are not registered without it */
  registry?: Registry;
  /** false: no timer, passes only through runPass (tests) */
  timer?: boolean;
}): PackBuilder {
  const options = PackBuilderSchema.parse(o.options ?? {});
  const store = o.store;
  const registers = o.registry ? [o.registry] : [];
  const built = new Counter({
    name: 'poste_cell_packs_built_days_total',
    help: 'Municipality-days the pack builder summed and packed',
    registers,
  });
  const pending = new Gauge({
    name: 'poste_cell_packs_pending_days',
    help: 'Municipality-days of the horizon without a current pack at the last pass, less those it built',
    registers,
  });
  const passSeconds = new Gauge({ name: 'poste_cell_packs_pass_seconds', help: "Duration of the pack builder's last pass", registers });
  const passes = new Counter({
    name: 'poste_cell_packs_passes_total',
    help: 'Pack builder passes by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });

  let stopped = false;
  let running: Promise<PackPassReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let firstPass = true;
  let wake: (() => void) | undefined;

  const rest = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function pass(): Promise<PackPassReport> {
    const started = performance.now();
    const report: PackPassReport = { stale: 0, built: 0, directories: 0, windows: 0, stopped: false, ms: 0 };
    if (!store.staleCellDays || !store.energyCells) return report;
    const baselines = baselineSourceOf(o.inventory);
    const to = o.clock.now();
    const from = to - options.horizonDays * DAY_MS;
    const cellStats = () => store.energyCellStats?.().summedDays ?? 0;
    // The stale days of every municipality (marks and stamps only: cheap), then the newest first.
    const todo: Array<{ m: string; day: number }> = [];
    const windowsOf = new Map<string, Array<[number, number]>>();
    for (const { id: m } of [...o.inventory.municipalities].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (stopped) break;
      const state = await store.staleCellDays({ municipality: m, from, to }, baselines);
      for (const day of state.stale) todo.push({ m, day });
      windowsOf.set(m, state.blockWindows);
    }
    report.stale = todo.length;
    pending.set(todo.length);
    todo.sort((a, b) => b.day - a.day || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
    const chosen = todo.slice(0, options.maxDaysPerPass);
    const left = new Set(todo.slice(options.maxDaysPerPass).map((t) => `${t.m}\u0000${t.day}`));
    const touched = new Set<string>();
    for (const m of [...new Set(chosen.map((t) => t.m))].sort()) {
      const days = chosen.filter((t) => t.m === m).map((t) => t.day);
      // Runs of consecutive days, at most stepDays each, newest first.
      for (let i = 0; i < days.length && !stopped; ) {
        let j = i + 1;
        while (j < days.length && j - i < options.stepDays && days[j - 1]! - days[j]! === DAY_MS) j++;
        const step = days.slice(i, j);
        i = j;
        const before = cellStats();
        const t0 = performance.now();
        // Without blocks: a block covering these days would answer the read and leave their own packs unmade.
        await store.energyCells({ municipality: m, from: step[step.length - 1]!, to: step[0]! + DAY_MS, useBlocks: false }, baselines);
        const summed = Math.max(cellStats() - before, 0);
        report.built += summed;
        built.inc(summed);
        pending.dec(step.length);
        for (const d of step) touched.add(`${m}\u0000${d}`);
        await rest(((performance.now() - t0) * (1 - options.share)) / options.share);
      }
    }
    // The days' lists of municipalities, so a programme-wide read takes each one's pack too.
    if (!stopped && store.packCellDirectories) report.directories = await store.packCellDirectories({ from, to }, baselines);
    // Blocks: the windows holding a day built now (every window on the first pass), once none of
    // their days is left for a later pass (the read would sum it).
    for (const [m, windows] of windowsOf) {
      for (const [start, end] of windows) {
        if (stopped) break;
        let any = firstPass;
        let blocked = false;
        for (let d = start; d < end; d += DAY_MS) {
          if (touched.has(`${m}\u0000${d}`)) any = true;
          if (left.has(`${m}\u0000${d}`)) blocked = true;
        }
        if (!any || blocked) continue;
        const t0 = performance.now();
        await store.energyCells({ municipality: m, from: start, to: end }, baselines);
        report.windows++;
        await rest(((performance.now() - t0) * (1 - options.share)) / options.share);
      }
    }
    if (!stopped) firstPass = false;
    report.stopped = stopped;
    report.ms = Math.round(performance.now() - started);
    return report;
  }

  function runPass(): Promise<PackPassReport> {
    running ??= pass()
      .then(
        (r) => {
          passes.inc({ outcome: r.stopped ? 'stopped' : 'ok' });
          passSeconds.set(r.ms / 1000);
          if (r.built > 0 || r.directories > 0 || r.windows > 0 || r.stopped)
            o.logger?.info(
              { stale: r.stale, built: r.built, directories: r.directories, windows: r.windows, ms: r.ms, stopped: r.stopped },
              'cell packs built',
            );
          return r;
        },
        (err: unknown) => {
          passes.inc({ outcome: 'error' });
          // The next pass starts over from the store's state: nothing here is left half-done.
          o.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'cell pack pass failed');
          return { stale: 0, built: 0, directories: 0, windows: 0, stopped, ms: 0 };
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runPass().then(() => schedule(options.intervalMs));
    }, ms);
    timer.unref();
  };
  if (options.enabled && o.timer !== false && store.staleCellDays && store.energyCells) schedule(0);

  return {
    runPass,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
    },
  };
}
