import type { Clock } from '@poste/protocol';

export type SimClockOptions =
  | { mode: 'accelerated'; start: Date | number; speed: number; realNow?: () => number }
  | { mode: 'manual'; start: Date | number };

/**
 * Simulated time. Accelerated: sim now = start + real elapsed × speed, so a 12 h night at speed
 * 3600 takes 12 s. Manual: time only moves when a test calls `advance(ms)`.
 */
export class SimClock implements Clock {
  readonly mode: 'accelerated' | 'manual';
  readonly speed: number;
  private readonly startMs: number;
  private readonly realNow: () => number;
  private readonly realStart: number;
  private manualNow: number;

  constructor(options: SimClockOptions) {
    this.mode = options.mode;
    this.startMs = typeof options.start === 'number' ? options.start : options.start.getTime();
    if (!Number.isFinite(this.startMs)) throw new Error('SimClock: invalid start');
    this.manualNow = this.startMs;
    if (options.mode === 'accelerated') {
      if (!(options.speed > 0)) throw new Error('SimClock: speed must be > 0');
      this.speed = options.speed;
      this.realNow = options.realNow ?? (() => performance.now());
    } else {
      this.speed = 0;
      this.realNow = () => 0;
    }
    this.realStart = this.realNow();
  }

  static accelerated(start: Date | number, speed: number): SimClock {
    return new SimClock({ mode: 'accelerated', start, speed });
  }

  static manual(start: Date | number): SimClock {
    return new SimClock({ mode: 'manual', start });
  }

  /** The instant the simulation started, ms since epoch. */
  get start(): number {
    return this.startMs;
  }

  now(): number {
    if (this.mode === 'manual') return this.manualNow;
    return Math.floor(this.startMs + (this.realNow() - this.realStart) * this.speed);
  }

  /** Manual mode only: moves time forward. */
  advance(ms: number): number {
    if (this.mode !== 'manual') throw new Error('SimClock.advance: only in manual mode');
    if (!(ms >= 0)) throw new Error('SimClock.advance: ms must be >= 0');
    this.manualNow += ms;
    return this.manualNow;
  }

  /** Real milliseconds it takes for `simMs` to pass (accelerated mode). */
  realMsFor(simMs: number): number {
    return this.mode === 'accelerated' ? simMs / this.speed : Number.POSITIVE_INFINITY;
  }
}
