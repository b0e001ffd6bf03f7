import type { SimFault } from '@poste/simulators';

/** The faults a luminaire can be given at random (supply loss and counter resets are the fault tests' own). */
const RANDOM_FAULTS: readonly SimFault[] = ['lampFailure', 'driverFailure', 'dayBurner', 'cyclingFailure'];

export interface FaultTarget {
  injectFault(deviceId: string, fault: SimFault): void;
  clearFault(deviceId: string, fault: SimFault): void;
}

export interface FaultInjectorOptions {
  target: FaultTarget;
  luminaires: readonly string[];
  /** faults per simulated hour across the city (a Poisson process) */
  faultsPerHour: number;
  /** simulated now, ms */
  now: () => number;
  seed: number;
  /** a fault is repaired this long (simulated ms) after it appeared; default 6 h */
  repairAfterMs?: number;
}

/** mulberry32: small, seedable, good enough to pick devices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Breaks luminaires at `faultsPerHour` (simulated time) and repairs each one `repairAfterMs` later,
 * so a city of any size has the faults its operators would see. At most one fault per luminaire at
 * a time, so the set of open faults is bounded by the number of luminaires.
 */
export class FaultInjector {
  readonly #o: FaultInjectorOptions;
  readonly #random: () => number;
  readonly #open = new Map<string, { fault: SimFault; repairAt: number }>();
  #nextAt: number;
  #injected = 0;

  constructor(o: FaultInjectorOptions) {
    if (!(o.faultsPerHour >= 0)) throw new Error(`FaultInjector: faultsPerHour must be >= 0, got ${o.faultsPerHour}`);
    this.#o = o;
    this.#random = prng(o.seed);
    this.#nextAt = o.now() + this.#gapMs();
  }

  get injected(): number {
    return this.#injected;
  }

  get open(): number {
    return this.#open.size;
  }

  /** Exponential gaps between faults: a Poisson process at the configured rate. */
  #gapMs(): number {
    if (this.#o.faultsPerHour === 0) return Number.POSITIVE_INFINITY;
    return (-Math.log(1 - this.#random()) / this.#o.faultsPerHour) * 3_600_000;
  }

  /** Injects the faults due by now and repairs the ones whose time came. Call it often (each second). */
  tick(): void {
    const now = this.#o.now();
    for (const [device, f] of this.#open) {
      if (f.repairAt > now) continue;
      this.#o.target.clearFault(device, f.fault);
      this.#open.delete(device);
    }
    const { luminaires } = this.#o;
    // Bounded per tick: a long pause (a suspended laptop) does not unleash a day's faults at once.
    for (let n = 0; this.#nextAt <= now && n < 1_000; n++) {
      const at = this.#nextAt;
      this.#nextAt += this.#gapMs();
      if (luminaires.length === 0) continue;
      const device = luminaires[Math.floor(this.#random() * luminaires.length)]!;
      const fault = RANDOM_FAULTS[Math.floor(this.#random() * RANDOM_FAULTS.length)]!;
      if (this.#open.has(device)) continue;
      this.#o.target.injectFault(device, fault);
      this.#open.set(device, { fault, repairAt: at + (this.#o.repairAfterMs ?? 6 * 3_600_000) });
      this.#injected++;
    }
    if (this.#nextAt <= now) this.#nextAt = now + this.#gapMs();
  }
}
