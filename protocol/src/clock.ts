/**
 * Time source injected everywhere time matters, so simulations can run a night in seconds and
 * tests can step time by hand. `now()` is ms since the Unix epoch.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
