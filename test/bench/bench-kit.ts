import type { Point } from '@poste/telemetry-store';
// Shared pieces for benchmark modules: the module shape, timing helpers, result printing.
// Benchmarks print numbers; nothing here asserts a timing.

export interface BenchOptions {
  /** smaller sizes for a fast smoke run */
  quick: boolean;
  /** `--sizes A,B,…`: the sizes a benchmark with a size ladder runs instead of its own (others ignore it) */
  sizes?: number[];
}

export interface BenchModule {
  /** matched by the filter argument of `npm run bench -- <filter>` */
  name: string;
  description: string;
  run(opts: BenchOptions): Promise<void> | void;
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[k] as number;
}

/** Run `fn` `runs` times after `warmup` untimed runs; returns each run's ms. */
export function timeRuns(runs: number, warmup: number, fn: (run: number) => void): number[] {
  for (let i = 0; i < warmup; i++) fn(-1 - i);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = nowNs();
    fn(i);
    out.push(msSince(t));
  }
  return out;
}

export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** One result line: `name  key=value …  [target …]` so runs are easy to grep and compare. */
export function report(name: string, values: Record<string, string | number>, target?: string): void {
  const parts = Object.entries(values).map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? String(v) : fmt(v)) : v}`);
  console.log(`${name.padEnd(34)} ${parts.join('  ')}${target ? `   [target ${target}]` : ''}`);
}

/** Small deterministic PRNG so every run builds the same city. */
export function mulberry32(seed: number): () => number {
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
 * `n` raw luminaire readings from the `offset`-th on, as ingest would store them: `luminaires`
 * spread over `gateways`, every luminaire once per `stepMs` (the raw line-protocol baselines).
 */
export function rawReadings(n: number, offset: number, shape: { gateways: number; luminaires: number; stepMs: number }): Point[] {
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    const k = offset + i;
    return {
      measurement: 'luminaire',
      tags: { municipality: 'campinas', gateway: `gw${k % shape.gateways}`, luminaire: `lum-${k % shape.luminaires}`, group: 'g1' },
      fields: {
        activePower: 84.5,
        activeEnergy: 1000 + k,
        dimLevel: 70,
        voltage: 221.7,
        current: 0.39,
        powerFactor: 0.97,
        operatingHours: 100,
        switchOnCounter: 12,
        status: 'ok',
      },
      ts: t0 + Math.floor(k / shape.luminaires) * shape.stepMs,
    };
  });
}
