/**
 * Reset-aware deltas of cumulative counters (activeEnergy Wh, operatingHours h), shared by every
 * store that cannot do it in its query language (InfluxQL has no reset-aware difference).
 *
 * Semantics, identical to the embedded store's SQL (LAG over ts):
 * - samples are taken in timestamp order, whatever order they arrived in;
 * - the first sample of the range contributes nothing (no previous value inside the range);
 * - a rise contributes v − prev; a drop is a counter reset, so the new value counts from zero (v);
 * - a repeated timestamp is one sample (a replay overwrites): the last one given wins.
 */

export interface CounterSample {
  ts: number;
  value: number;
}

/** Incremental form for input already sorted by ts (a streamed, time-ordered query result). */
export class CounterAccumulator {
  private prev: number | undefined;
  private prevTs = Number.NEGATIVE_INFINITY;
  total = 0;

  /** Adds the next sample; `ts` must be ≥ the previous one. Non-finite values are skipped. */
  add(ts: number, value: number | null | undefined): void {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    if (ts < this.prevTs) throw new RangeError(`CounterAccumulator: ts ${ts} before ${this.prevTs}`);
    if (ts === this.prevTs && this.prev !== undefined) {
      // Same timestamp again: a store that overwrites never yields this, but a caller might.
      // Treat it as the same sample — nothing to add beyond what the first copy added.
      return;
    }
    if (this.prev !== undefined) this.total += counterDelta(this.prev, value);
    this.prev = value;
    this.prevTs = ts;
  }
}

/** Delta between two consecutive counter readings: a drop means the counter restarted at zero. */
export function counterDelta(prev: number, next: number): number {
  return next >= prev ? next - prev : next;
}

/** Sum of reset-aware deltas of samples in any order; duplicates of a timestamp count once (last wins). */
export function sumCounterDeltas(samples: readonly CounterSample[]): number {
  const byTs = new Map<number, number>();
  for (const s of samples) {
    if (Number.isFinite(s.value)) byTs.set(s.ts, s.value);
  }
  const ordered = [...byTs.entries()].sort((a, b) => a[0] - b[0]);
  const acc = new CounterAccumulator();
  for (const [ts, value] of ordered) acc.add(ts, value);
  return acc.total;
}
