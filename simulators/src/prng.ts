/**
 * Seeded pseudo-random numbers. mulberry32: 32-bit state, fast, good enough for simulation noise
 * (not for cryptography). Every device owns its own generator seeded from (city seed, device id) so
 * its sequence does not depend on how many other devices exist or in which order they are stepped.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  range(min: number, max: number): number;
  /** Integer uniform in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** Approximately normal (Irwin–Hall of 4 uniforms), mean 0, standard deviation 1. */
  normal(): number;
  /** The generator's 32-bit state: `mulberry32(state())` continues the same sequence (checkpoints). */
  state(): number;
}

export function mulberry32(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    range: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    // Sum of 4 uniforms has variance 4/12; rescale to unit variance.
    normal: () => (next() + next() + next() + next() - 2) * Math.sqrt(3),
    state: () => state,
  };
}

/** FNV-1a hash of a string mixed with a numeric seed: a stable per-device seed. */
export function deriveSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche so near-identical keys (lum-0001, lum-0002) give unrelated streams.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}
