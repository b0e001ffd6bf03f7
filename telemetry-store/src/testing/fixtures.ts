import type { Point } from '../types';

/** A luminaire point as ingest writes it (docs/architecture.md, "Storage"). */
export function luminairePoint(
  o: { municipality?: string; gateway?: string; luminaire: string; group?: string },
  ts: number,
  activeEnergy: number,
  operatingHours = activeEnergy / 100,
): Point {
  return {
    measurement: 'luminaire',
    tags: {
      municipality: o.municipality ?? 'belem',
      gateway: o.gateway ?? 'gw-1',
      luminaire: o.luminaire,
      group: o.group ?? 'ungrouped',
    },
    fields: {
      activePower: 100,
      activeEnergy,
      dimLevel: 80,
      voltage: 220,
      current: 0.45,
      powerFactor: 0.95,
      operatingHours,
      switchOnCounter: 1,
      status: 'ok',
    },
    ts,
  };
}

export function apPoint(ap: string, ts: number): Point {
  return {
    measurement: 'ap',
    tags: { municipality: 'belem', gateway: 'gw-1', ap },
    fields: {
      capacityKbps: 50_000,
      uptime: 100,
      clientsHousehold: 2,
      clientsTelemedicine: 1,
      clientsPublic: 3,
      bytesHousehold: 1e6,
      bytesTelemedicine: 1e5,
      bytesPublic: 2e5,
    },
    ts,
  };
}

export function eventPoint(device: string, ts: number): Point {
  return {
    measurement: 'event',
    tags: { municipality: 'belem', gateway: 'gw-1', device, type: 'lampFailure' },
    fields: { active: true, detail: 'lamp open circuit' },
    ts,
  };
}

/** Deterministic shuffle (a seeded LCG), so a failure reproduces. */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Splits into batches of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
