import { SingleBar } from 'cli-progress';

/** A step's progress in bytes (or any unit); `done` stops it. */
export interface Progress {
  advance(n: number): void;
  done(): void;
}

export interface ProgressSink {
  /** Starts a bar for one long step (hashing, writing, reading back, transfer). */
  start(label: string, total: number, unit?: string): Progress;
}

/**
 * Bars on stderr (stdout stays for results scripts read). On a terminal they redraw in place; on
 * anything else (a log, a test) cli-progress writes a line every two seconds, and a final one.
 */
export const stderrProgress: ProgressSink = {
  start(label, total, unit = 'bytes') {
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% {value}/{total} ${unit}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 2_000,
      hideCursor: process.stderr.isTTY === true,
    });
    bar.start(Math.max(total, 1), 0);
    return {
      advance: (n) => bar.increment(n),
      done: () => {
        bar.update(Math.max(total, 1));
        bar.stop();
      },
    };
  },
};

/** No bars (library callers, --quiet). */
export const noProgress: ProgressSink = { start: () => ({ advance: () => {}, done: () => {} }) };
