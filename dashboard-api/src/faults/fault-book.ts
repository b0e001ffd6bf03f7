import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createJournal, type Journal } from '../state/journal';

/**
 * The faults operators act on, TALQ-style: raised by a source (a device event, the fleet's
 * reachability, an AP's quality), deduplicated (one live fault per type + gateway + device: a
 * repeat only counts and refreshes it), acknowledged, assigned, and cleared — by the source when the
 * condition ends, or by an operator. Kept in a journal under the data dir; at most `maxFaults`
 * records (cleared ones leave first).
 */
export const FAULT_TYPES = [
  'lampFailure',
  'driverFailure',
  'dayBurner',
  'cyclingFailure',
  'supplyLoss',
  'tamper',
  'apDown',
  'deviceSilent',
  'gatewaySilent',
  'apBelowQuality',
] as const;
export const FaultTypeSchema = z.enum(FAULT_TYPES);
export type FaultType = z.infer<typeof FaultTypeSchema>;
export const FaultStateSchema = z.enum(['open', 'acknowledged', 'cleared']);
export type FaultState = z.infer<typeof FaultStateSchema>;

export const FaultSchema = z.object({
  id: z.string(),
  type: FaultTypeSchema,
  state: FaultStateSchema,
  municipality: z.string().describe("'' when the gateway is not in the inventory"),
  gateway: z.string(),
  device: z.string().optional().describe('absent for a gateway fault'),
  raisedAt: z.number().int().describe('ms, when first seen (device clock for device events)'),
  lastSeenAt: z.number().int(),
  occurrences: z.number().int().min(1).describe('raises merged into this fault'),
  detail: z.string().optional(),
  acknowledgedBy: z.string().optional(),
  acknowledgedAt: z.number().int().optional(),
  assignee: z.string().optional(),
  assignedBy: z.string().optional(),
  clearedAt: z.number().int().optional(),
  clearedBy: z.string().optional().describe("'device' when the source reported the end, else the operator's token name"),
});
export type Fault = z.infer<typeof FaultSchema>;

export interface RaiseSpec {
  type: FaultType;
  municipality: string;
  gateway: string;
  device?: string;
  ts: number;
  detail?: string;
}

export interface FaultBook {
  /** Raises or refreshes; returns the fault when it is new or changed visibly (for the live feed). */
  raise(spec: RaiseSpec): Fault;
  /** The source says the condition ended; undefined when nothing live matched. */
  clearBySource(spec: Omit<RaiseSpec, 'detail'>): Fault | undefined;
  acknowledge(id: string, by: string, now: number): Fault | undefined;
  assign(id: string, assignee: string, by: string, now: number): Fault | undefined;
  clear(id: string, by: string, now: number): Fault | undefined;
  get(id: string): Fault | undefined;
  /** Newest first. */
  all(): Fault[];
  flush(): Promise<void>;
}

const keyOf = (s: { type: string; gateway: string; device?: string | undefined }) => `${s.type}\u0000${s.gateway}\u0000${s.device ?? ''}`;

export async function openFaultBook(opts: { file?: string; maxFaults?: number; onError?: (err: Error) => void } = {}): Promise<FaultBook> {
  const maxFaults = opts.maxFaults ?? 20_000;
  const byId = new Map<string, Fault>();
  const liveByKey = new Map<string, Fault>();
  const journal: Journal<Fault> = createJournal(opts.file, FaultSchema, {
    live: () => byId.values(),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  for (const f of (await journal.load()).sort((a, b) => a.raisedAt - b.raisedAt)) {
    byId.set(f.id, f);
    if (f.state !== 'cleared') liveByKey.set(keyOf(f), f);
  }
  const save = (f: Fault) => {
    journal.append(f);
    return f;
  };
  const evict = () => {
    if (byId.size <= maxFaults) return;
    // Map order is insertion (≈ raise) order: drop the oldest cleared, else the oldest.
    for (const [id, f] of byId) {
      if (byId.size <= maxFaults) break;
      if (f.state === 'cleared') byId.delete(id);
    }
    for (const [id, f] of byId) {
      if (byId.size <= maxFaults) break;
      byId.delete(id);
      liveByKey.delete(keyOf(f));
    }
  };
  const live = (id: string) => {
    const f = byId.get(id);
    return f && f.state !== 'cleared' ? f : undefined;
  };
  return {
    raise(spec) {
      const key = keyOf(spec);
      const existing = liveByKey.get(key);
      if (existing) {
        existing.occurrences += 1;
        existing.lastSeenAt = Math.max(existing.lastSeenAt, spec.ts);
        if (spec.detail !== undefined) existing.detail = spec.detail;
        return save(existing);
      }
      const f: Fault = {
        id: `f-${randomBytes(6).toString('hex')}`,
        type: spec.type,
        state: 'open',
        municipality: spec.municipality,
        gateway: spec.gateway,
        ...(spec.device !== undefined ? { device: spec.device } : {}),
        raisedAt: spec.ts,
        lastSeenAt: spec.ts,
        occurrences: 1,
        ...(spec.detail !== undefined ? { detail: spec.detail } : {}),
      };
      byId.set(f.id, f);
      liveByKey.set(key, f);
      evict();
      return save(f);
    },
    clearBySource(spec) {
      const key = keyOf(spec);
      const f = liveByKey.get(key);
      if (!f) return undefined;
      liveByKey.delete(key);
      f.state = 'cleared';
      f.clearedAt = spec.ts;
      f.clearedBy = 'device';
      return save(f);
    },
    acknowledge(id, by, now) {
      const f = live(id);
      if (!f) return undefined;
      if (f.state === 'open') {
        f.state = 'acknowledged';
        f.acknowledgedBy = by;
        f.acknowledgedAt = now;
      }
      return save(f);
    },
    assign(id, assignee, by, now) {
      const f = live(id);
      if (!f) return undefined;
      f.assignee = assignee;
      f.assignedBy = by;
      if (f.state === 'open') {
        f.state = 'acknowledged';
        f.acknowledgedBy = by;
        f.acknowledgedAt = now;
      }
      return save(f);
    },
    clear(id, by, now) {
      const f = live(id);
      if (!f) return undefined;
      liveByKey.delete(keyOf(f));
      f.state = 'cleared';
      f.clearedAt = now;
      f.clearedBy = by;
      return save(f);
    },
    get: (id) => byId.get(id),
    all: () => [...byId.values()].reverse(),
    flush: () => journal.flush(),
  };
}
