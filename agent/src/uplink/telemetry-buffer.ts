import type { Timers } from '../core/timers';

export interface BatchLimits {
  /** Flush as soon as this many items are buffered. */
  batchMaxReadings: number;
  /** Flush when the oldest buffered item has waited this long. */
  batchMaxDelayMs: number;
}

/**
 * In-memory batcher: items leave as one batch when the batch is full or when its oldest item has
 * waited batchMaxDelayMs. Kept behind this small interface so a disk spool (store-and-forward)
 * can replace it without touching the agent.
 */
export interface ItemBuffer<T> {
  add(item: T): void;
  /** Emits whatever is buffered now (no-op when empty). */
  flush(): void;
  setLimits(limits: BatchLimits): void;
  readonly pending: number;
  /** Flushes what is left and stops the delay timer. */
  close(): void;
}

export class TelemetryBuffer<T> implements ItemBuffer<T> {
  #items: T[] = [];
  #timer: unknown = null;
  #limits: BatchLimits;
  readonly #timers: Timers;
  readonly #emit: (batch: T[]) => void;

  constructor(limits: BatchLimits, timers: Timers, emit: (batch: T[]) => void) {
    this.#limits = { ...limits };
    this.#timers = timers;
    this.#emit = emit;
  }

  add(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.#limits.batchMaxReadings) {
      this.flush();
      return;
    }
    // The timer starts with the first item of a batch, so it measures the oldest item's age.
    if (this.#timer === null) {
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, this.#limits.batchMaxDelayMs);
    }
  }

  flush(): void {
    if (this.#timer !== null) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = null;
    }
    while (this.#items.length > 0) {
      const batch = this.#items.splice(0, this.#limits.batchMaxReadings);
      this.#emit(batch);
    }
  }

  setLimits(limits: BatchLimits): void {
    this.#limits = { ...limits };
    // Apply new limits at once rather than leaving a batch waiting under the old deadline.
    if (this.#items.length >= limits.batchMaxReadings) this.flush();
    else if (this.#timer !== null) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, limits.batchMaxDelayMs);
    }
  }

  get pending(): number {
    return this.#items.length;
  }

  close(): void {
    this.flush();
  }
}
