import {
  LUMINAIRE_BOUNDS,
  apBytesTotal,
  checkApBounds,
  checkApStep,
  checkEventValue,
  checkLuminaireBounds,
  checkLuminaireStep,
  checkTimestamp,
  type ApReading,
  type DeviceEvent,
  type LuminaireReading,
  type PayloadError,
  type RejectedItem,
} from '@poste/protocol';
import type { DeadLetterReason } from './dead-letter';
import type { DeviceEntry, FleetRegistry, QuarantineReason } from './fleet-registry';
import type { QuarantineSample } from './quarantine';

/**
 * Plausibility at ingest: what the schemas let through is checked against the bounds defined in
 * @poste/protocol (plausibility.ts) with plain comparisons, then attributed to a device its gateway
 * announced. Each refusal names the path (`readings[3].activeEnergy`) and a reason that is counted.
 */
export interface ScreenContext {
  gateway: string;
  fleet: FleetRegistry;
  nowMs: number;
  maxSkewMs: number;
  /** how long before a device's first birth its readings may be dated */
  birthGraceMs: number;
}

export interface Refusal {
  index: number;
  reason: DeadLetterReason;
  error: PayloadError;
}

export interface Screened<T> {
  accepted: T[];
  refused: Refusal[];
  quarantined: QuarantineSample[];
}

/**
 * Positions of the decoded items in the original batch (the decoder drops rejected ones);
 * undefined when none was rejected: each item is then at its own position.
 */
export function originalIndices(count: number, rejected: readonly RejectedItem[]): number[] | undefined {
  if (rejected.length === 0) return undefined;
  const out: number[] = [];
  const skip = new Set(rejected.map((r) => r.index));
  for (let i = 0; out.length < count; i++) if (!skip.has(i)) out.push(i);
  return out;
}

const at = (field: string, index: number, e: PayloadError): PayloadError => ({
  path: e.path ? `${field}[${index}].${e.path}` : `${field}[${index}]`,
  reason: e.reason,
});

/** A refusal of the common checks (rare: allocated only then). */
interface Refused {
  refusal: Omit<Refusal, 'index'>;
}

/**
 * The checks every reading passes before its own kind's step check: the device's entry, why its
 * readings are quarantined, or a refusal. No allocation for an accepted reading (this runs for
 * every reading ingest takes).
 */
function judge(ctx: ScreenContext, device: string, ts: number, bounds: PayloadError | null): DeviceEntry | QuarantineReason | Refused {
  if (bounds) return { refusal: { reason: 'implausible-value', error: bounds } };
  const future = checkTimestamp(ts, ctx.nowMs, ctx.maxSkewMs, undefined);
  if (future) return { refusal: future };
  const entry = ctx.fleet.forReading(ctx.gateway, device);
  if (typeof entry === 'string') return entry;
  const early = checkTimestamp(ts, ctx.nowMs, ctx.maxSkewMs, entry.birthTs, ctx.birthGraceMs);
  if (early) return { refusal: early };
  return entry;
}

function screen<T extends { device: string; ts: number }>(
  items: readonly T[],
  indices: readonly number[] | undefined,
  ctx: ScreenContext,
  measurement: 'luminaire' | 'ap',
  bounds: (r: T) => PayloadError | null,
  step: (entry: DeviceEntry, r: T) => PayloadError | null,
): Screened<T> {
  const out: Screened<T> = { accepted: [], refused: [], quarantined: [] };
  for (let k = 0; k < items.length; k++) {
    const r = items[k]!;
    const index = indices === undefined ? k : indices[k]!;
    const j = judge(ctx, r.device, r.ts, bounds(r));
    if (typeof j === 'string') {
      out.quarantined.push({ reason: j, gateway: ctx.gateway, device: r.device, measurement, ts: r.ts, at: ctx.nowMs });
    } else if ('refusal' in j) {
      out.refused.push({ index, reason: j.refusal.reason, error: at('readings', index, j.refusal.error) });
    } else {
      const e = step(j, r);
      if (e) out.refused.push({ index, reason: 'implausible-step', error: at('readings', index, e) });
      else out.accepted.push(r);
    }
  }
  return out;
}

/** Luminaire readings: bounds, timestamps, attribution, then the energy/hours/switch-on steps. */
export function screenLuminaires(items: readonly LuminaireReading[], indices: readonly number[] | undefined, ctx: ScreenContext) {
  return screen(items, indices, ctx, 'luminaire', checkLuminaireBounds, (entry, r) => {
    const prev = entry.luminaire;
    if (prev) {
      // A hostile birth cannot widen the step beyond what any luminaire draws.
      const rated = Math.min(entry.nominalPowerW ?? LUMINAIRE_BOUNDS.maxActivePowerW, LUMINAIRE_BOUNDS.maxActivePowerW);
      const e = checkLuminaireStep(prev, r, rated);
      if (e) return e;
      if (r.ts <= prev.ts) return null;
    }
    // Updated in place (the entry owns it): no object per reading.
    if (prev) {
      prev.ts = r.ts;
      prev.activeEnergy = r.activeEnergy;
      prev.operatingHours = r.operatingHours;
      prev.switchOnCounter = r.switchOnCounter;
    } else
      entry.luminaire = { ts: r.ts, activeEnergy: r.activeEnergy, operatingHours: r.operatingHours, switchOnCounter: r.switchOnCounter };
    return null;
  });
}

/** AP readings: bounds, timestamps, attribution, then the uptime and bytes-at-link-rate steps. */
export function screenAps(items: readonly ApReading[], indices: readonly number[] | undefined, ctx: ScreenContext) {
  return screen(items, indices, ctx, 'ap', checkApBounds, (entry, r) => {
    const prev = entry.ap;
    if (prev) {
      const e = checkApStep(prev, r);
      if (e) return e;
      if (r.ts <= prev.ts) return null;
    }
    if (prev) {
      prev.ts = r.ts;
      prev.uptime = r.uptime;
      prev.bytes = apBytesTotal(r);
    } else entry.ap = { ts: r.ts, uptime: r.uptime, bytes: apBytesTotal(r) };
    return null;
  });
}

/**
 * Events: magnitude and timestamps only. They are not attributed (a gateway reports events about
 * itself, and events are not in the savings); a known device's birth still bounds their time.
 */
export function screenEvents(
  items: readonly DeviceEvent[],
  indices: readonly number[] | undefined,
  ctx: ScreenContext,
): Screened<DeviceEvent> {
  const out: Screened<DeviceEvent> = { accepted: [], refused: [], quarantined: [] };
  for (let k = 0; k < items.length; k++) {
    const e = items[k]!;
    const index = indices === undefined ? k : indices[k]!;
    const value = checkEventValue(e.value);
    if (value) {
      out.refused.push({ index, reason: 'implausible-value', error: at('events', index, value) });
      continue;
    }
    const t = checkTimestamp(e.ts, ctx.nowMs, ctx.maxSkewMs, ctx.fleet.known(ctx.gateway, e.device)?.birthTs, ctx.birthGraceMs);
    if (t) out.refused.push({ index, reason: t.reason, error: at('events', index, t.error) });
    else out.accepted.push(e);
  }
  return out;
}
