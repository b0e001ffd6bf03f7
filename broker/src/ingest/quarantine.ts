import { Counter, type Registry } from 'prom-client';
import { BoundedMap } from '../guard/bounded-map';
import type { QuarantineReason } from './fleet-registry';

/** One quarantined reading, kept for the operator. */
export interface QuarantineSample {
  reason: QuarantineReason;
  gateway: string;
  device: string;
  /** 'luminaire' | 'ap' */
  measurement: string;
  /** the reading's own timestamp (device clock) */
  ts: number;
  /** when ingest quarantined it (receiver clock) */
  at: number;
}

export interface QuarantineStats {
  total: number;
  byReason: Partial<Record<QuarantineReason, number>>;
  /** the last few samples per gateway, for the gateways quarantined most recently */
  samples: Record<string, QuarantineSample[]>;
}

const counters = new WeakMap<Registry, Counter<'reason' | 'measurement'>>();

/** `poste_ingest_quarantined_total{reason,measurement}`, once per registry (prom-client refuses a name twice). */
function quarantineCounter(registry: Registry): Counter<'reason' | 'measurement'> {
  let c = counters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'poste_ingest_quarantined_total',
      help: 'readings quarantined (kept out of the measurements savings come from): device never announced by its gateway, assigned to another gateway by the inventory, or over the gateway fleet cap',
      labelNames: ['reason', 'measurement'],
      registers: [registry],
    });
    counters.set(registry, c);
  }
  return c;
}

/**
 * Readings that are well-formed and plausible but cannot be attributed to their gateway: counted
 * (prom-client), sampled (the last `perGateway` per gateway, for at most `gateways` gateways), and
 * not written. The gateway still gets its PUBACK: resending would not make them attributable.
 */
export class Quarantine {
  private readonly byReason: Partial<Record<QuarantineReason, number>> = {};
  private total = 0;
  private readonly recent: BoundedMap<string, QuarantineSample[]>;
  private readonly counter: Counter<'reason' | 'measurement'>;

  constructor(
    registry: Registry,
    private readonly perGateway = 10,
    gateways = 200,
  ) {
    this.counter = quarantineCounter(registry);
    this.recent = new BoundedMap(gateways);
  }

  add(sample: QuarantineSample): void {
    this.total++;
    this.byReason[sample.reason] = (this.byReason[sample.reason] ?? 0) + 1;
    this.counter.inc({ reason: sample.reason, measurement: sample.measurement });
    const ring = this.recent.get(sample.gateway) ?? [];
    ring.push(sample);
    if (ring.length > this.perGateway) ring.shift();
    this.recent.set(sample.gateway, ring);
  }

  stats(): QuarantineStats {
    const samples: Record<string, QuarantineSample[]> = {};
    for (const [gw, ring] of this.recent.entries()) samples[gw] = [...ring];
    return { total: this.total, byReason: { ...this.byReason }, samples };
  }
}
