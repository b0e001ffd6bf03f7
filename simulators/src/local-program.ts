/**
 * Device-side fallback program: what a luminaire controller does on its own, so streets never go
 * dark because the gateway, the uplink or the software is down (docs/architecture.md, fail-safe).
 *
 * Fixed local times: on at `onAtMinute` (dusk, default 18:00), dimmed to `dimLevel` from
 * `dimAtMinute` (default 00:00), off at `offAtMinute` (dawn, default 06:00). Local time is UTC +
 * `utcOffsetMinutes` (Brazil has had no DST since 2019, so a fixed offset per municipality is
 * exact there). Callers who have sun times can pass sunset/sunrise as onAt/offAt minutes.
 *
 * A `dim` command overrides the program until its `until` (or until cleared); `clearOverride`
 * returns to the program. Expiry is checked whenever the level is asked for.
 */
export interface FallbackProgram {
  utcOffsetMinutes: number;
  onAtMinute: number;
  offAtMinute: number;
  dimAtMinute: number;
  fullLevel: number;
  dimLevel: number;
}

export const DEFAULT_FALLBACK_PROGRAM: Omit<FallbackProgram, 'utcOffsetMinutes'> = {
  onAtMinute: 18 * 60,
  offAtMinute: 6 * 60,
  dimAtMinute: 0,
  fullLevel: 100,
  dimLevel: 50,
};

export function fallbackProgram(utcOffsetMinutes: number, overrides: Partial<FallbackProgram> = {}): FallbackProgram {
  return { ...DEFAULT_FALLBACK_PROGRAM, utcOffsetMinutes, ...overrides };
}

const DAY_MIN = 1440;

/** Minute of the local day (0..1439.99) at instant t. */
export function localMinuteOfDay(t: number, utcOffsetMinutes: number): number {
  const m = (t / 60_000 + utcOffsetMinutes) % DAY_MIN;
  return m < 0 ? m + DAY_MIN : m;
}

/** Whether minute m lies in the circular window [from, to) of a day. */
function inWindow(m: number, from: number, to: number): boolean {
  if (from === to) return false;
  return from < to ? m >= from && m < to : m >= from || m < to;
}

/** Level (0..100) the program asks for at instant t. */
export function programLevelAt(p: FallbackProgram, t: number): number {
  const m = localMinuteOfDay(t, p.utcOffsetMinutes);
  if (!inWindow(m, p.onAtMinute, p.offAtMinute)) return 0;
  // The dim window only counts inside the night (from dimAt to dawn).
  return inWindow(m, p.dimAtMinute, p.offAtMinute) ? p.dimLevel : p.fullLevel;
}

export interface DimOverride {
  level: number;
  /** ms since epoch; undefined = until cleared. */
  until: number | undefined;
}

/** The controller's decision logic: fallback program plus at most one override (newest wins). */
export class LuminaireController {
  readonly program: FallbackProgram;
  private override: DimOverride | undefined;

  constructor(program: FallbackProgram) {
    this.program = program;
  }

  setOverride(level: number, until: number | undefined): void {
    this.override = { level, until };
  }

  /** The override as it stands (checkpoints), without dropping an expired one. */
  currentOverride(): DimOverride | undefined {
    return this.override;
  }

  clearOverride(): void {
    this.override = undefined;
  }

  /** The override in force at t (drops it once expired). */
  overrideAt(t: number): DimOverride | undefined {
    if (this.override?.until !== undefined && this.override.until <= t) this.override = undefined;
    return this.override;
  }

  levelAt(t: number): number {
    return this.overrideAt(t)?.level ?? programLevelAt(this.program, t);
  }
}
