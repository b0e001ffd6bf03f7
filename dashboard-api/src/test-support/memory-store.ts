import type { EnergyQuery, LuminaireEnergy, Point, TelemetryStore } from '@poste/telemetry-store';

/**
 * A small, honest in-memory TelemetryStore for the dashboard's tests: it keeps points, overwrites
 * same series + ts, and derives energy from cumulative counters with the contract's semantics
 * (time order, first sample of the range is the reference, a drop is a reset counting from zero).
 * `failing = true` makes every call reject, to exercise the API's error paths.
 */
export class MemoryStore implements TelemetryStore {
  readonly kind = 'memory';
  failing = false;
  private readonly points = new Map<string, Point>();

  async init(): Promise<void> {
    this.check();
  }

  async write(points: readonly Point[]): Promise<void> {
    this.check();
    for (const p of points) {
      const t = p.tags;
      const series = p.measurement === 'luminaire' ? [t.municipality, t.gateway, t.luminaire] : Object.entries(t).sort().flat();
      this.points.set(JSON.stringify([p.measurement, ...series, p.ts]), p);
    }
  }

  async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    this.check();
    const bySeries = new Map<string, Point[]>();
    for (const p of this.points.values()) {
      if (p.measurement !== 'luminaire' || p.ts < q.from || p.ts >= q.to) continue;
      if (q.municipality !== undefined && p.tags.municipality !== q.municipality) continue;
      if (q.gateway !== undefined && p.tags.gateway !== q.gateway) continue;
      const key = JSON.stringify([p.tags.municipality, p.tags.gateway, p.tags.luminaire]);
      let list = bySeries.get(key);
      if (!list) bySeries.set(key, (list = []));
      list.push(p);
    }
    const out: LuminaireEnergy[] = [];
    for (const list of bySeries.values()) {
      list.sort((a, b) => a.ts - b.ts);
      const first = list[0]!;
      const last = list[list.length - 1]!;
      out.push({
        municipality: first.tags.municipality ?? '',
        gateway: first.tags.gateway ?? '',
        luminaire: first.tags.luminaire ?? '',
        group: last.tags.group ?? 'ungrouped',
        energyWh: counterSum(list.map((p) => p.fields.activeEnergy)),
        litHours: counterSum(list.map((p) => p.fields.operatingHours)),
        points: list.length,
        firstTs: first.ts,
        lastTs: last.ts,
      });
    }
    return out;
  }

  async countPoints(measurement: Point['measurement'], from: number, to: number): Promise<number> {
    this.check();
    let n = 0;
    for (const p of this.points.values()) if (p.measurement === measurement && p.ts >= from && p.ts < to) n += 1;
    return n;
  }

  async close(): Promise<void> {}

  private check(): void {
    if (this.failing) throw new Error('memory store: simulated outage');
  }
}

function counterSum(values: ReadonlyArray<Point['fields'][string] | undefined>): number {
  let total = 0;
  let prev: number | undefined;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (prev !== undefined) total += v >= prev ? v - prev : v;
    prev = v;
  }
  return total;
}

/** A luminaire point with the protocol's field names (only the fields energy needs, plus power). */
export function luminairePoint(
  tags: { municipality: string; gateway: string; luminaire: string; group?: string },
  ts: number,
  activeEnergyWh: number,
  operatingHours: number,
): Point {
  return {
    measurement: 'luminaire',
    tags: { ...tags, group: tags.group ?? 'ungrouped' },
    fields: { activeEnergy: activeEnergyWh, operatingHours, activePower: 0, dimLevel: 100 },
    ts,
  };
}
