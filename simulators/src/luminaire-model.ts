import type { LuminaireReading, LuminaireStatus } from '@poste/protocol';
import type { Prng } from './prng';
import type { LuminaireModelSnapshot } from './snapshot';

/** Persistent faults a luminaire can have; `counterReset` is one-shot and handled separately. */
export type LuminaireFault = 'lampFailure' | 'driverFailure' | 'dayBurner' | 'cyclingFailure' | 'supplyLoss';

export const LUMINAIRE_FAULTS: readonly LuminaireFault[] = ['lampFailure', 'driverFailure', 'dayBurner', 'cyclingFailure', 'supplyLoss'];

export interface LuminaireElectrics {
  /** W drawn from the mains at 100% dim level (driver losses and controller included). */
  nominalPowerW: number;
  /** W the controller draws when the lamp is off (relay open, radio on). */
  standbyPowerW: number;
  /** Mean mains voltage at this pole, V; readings jitter around it. */
  supplyVoltageV: number;
}

export const DEFAULT_STANDBY_W = 0.5;
/** Power drawn by a controller whose driver has died: its own electronics only. */
const DRIVER_FAILED_W = 0.3;
/** A cycling lamp (classic end-of-life symptom) goes out for this long, then back on, and so on. */
export const CYCLING_HALF_PERIOD_MS = 2 * 60_000;

/**
 * Driver efficiency (output W / input W) as a function of load 0..1. LED drivers are most efficient
 * near full load and lose efficiency at deep dimming; this curve gives ≈0.93 at 100%, ≈0.90 at
 * 50%, ≈0.75 at 10%.
 */
export function driverEfficiency(load: number): number {
  const l = Math.min(1, Math.max(0, load));
  return 0.93 - 0.25 * (1 - l) ** 3;
}

/** Power factor as a function of load: ≈0.98 at full, falling at deep dimming; 0.5 in standby. */
export function powerFactor(load: number, lit: boolean): number {
  if (!lit) return 0.5;
  const l = Math.min(1, Math.max(0, load));
  return 0.98 - 0.4 * (1 - l) ** 2;
}

/**
 * Mains power drawn when lit at `dimLevel` (1..100 %). LED power is proportional to the level and
 * the driver's efficiency follows the load, so power(100) = nominalPowerW exactly.
 */
export function litPowerW(e: LuminaireElectrics, dimLevel: number): number {
  const load = dimLevel / 100;
  const ledFullW = (e.nominalPowerW - e.standbyPowerW) * driverEfficiency(1);
  return e.standbyPowerW + (ledFullW * load) / driverEfficiency(load);
}

/**
 * One luminaire controller: electrics, counters and faults. Pure and deterministic: no timers, no
 * I/O; time moves only through `advance(dtMs)`. Power is constant between changes (a change of
 * dim level or faults takes effect at the next `advance`), so the energy integral is exact:
 * energy += power × dt. `groundTruthWh` is the same integral but is never reset, so a counter
 * reset (controller reboot) does not lose the truth.
 */
export class LuminaireModel {
  readonly electrics: LuminaireElectrics;
  /** Sim time this model has been advanced to, ms since epoch. */
  nowMs: number;
  /** Commanded level 0..100 (0 = off), as set by the controller program or an override. */
  dimLevel = 0;
  /** Wh, cumulative counter as the controller reports it (resets on counterReset). */
  energyCounterWh = 0;
  /** Wh, exact energy consumed since the model was created; never reset. */
  groundTruthWh = 0;
  /** h the lamp was actually lit. */
  operatingHours = 0;
  /** Off → lit transitions of the lamp. */
  switchOnCounter = 0;
  private readonly faults = new Map<LuminaireFault, number>();
  private wasLit = false;

  constructor(electrics: LuminaireElectrics, startMs: number) {
    this.electrics = electrics;
    this.nowMs = startMs;
  }

  /** Counters, faults and time: everything a restart must keep (see snapshot.ts). */
  snapshot(): LuminaireModelSnapshot {
    return {
      nowMs: this.nowMs,
      dimLevel: this.dimLevel,
      energyCounterWh: this.energyCounterWh,
      groundTruthWh: this.groundTruthWh,
      operatingHours: this.operatingHours,
      switchOnCounter: this.switchOnCounter,
      faults: [...this.faults.entries()],
      wasLit: this.wasLit,
    };
  }

  restore(s: LuminaireModelSnapshot): void {
    this.nowMs = s.nowMs;
    this.dimLevel = s.dimLevel;
    this.energyCounterWh = s.energyCounterWh;
    this.groundTruthWh = s.groundTruthWh;
    this.operatingHours = s.operatingHours;
    this.switchOnCounter = s.switchOnCounter;
    this.faults.clear();
    for (const [f, since] of s.faults) this.faults.set(f as LuminaireFault, since);
    this.wasLit = s.wasLit;
  }

  setDimLevel(level: number): void {
    this.dimLevel = Math.min(100, Math.max(0, level));
  }

  hasFault(f: LuminaireFault): boolean {
    return this.faults.has(f);
  }

  activeFaults(): LuminaireFault[] {
    return [...this.faults.keys()];
  }

  /** Starts a fault at the current time; returns false when it was already active. */
  injectFault(f: LuminaireFault): boolean {
    if (this.faults.has(f)) return false;
    this.faults.set(f, this.nowMs);
    return true;
  }

  clearFault(f: LuminaireFault): boolean {
    return this.faults.delete(f);
  }

  /** Controller reboot: the energy counter restarts at 0; the ground truth carries on. */
  resetEnergyCounter(): void {
    this.energyCounterWh = 0;
  }

  /** TALQ-style status, most severe first. */
  get status(): LuminaireStatus {
    for (const f of ['supplyLoss', 'driverFailure', 'lampFailure', 'cyclingFailure', 'dayBurner'] as const) {
      if (this.faults.has(f)) return f;
    }
    return 'ok';
  }

  /** Level the driver is effectively delivering: faults override the command. */
  get effectiveLevel(): number {
    if (this.faults.has('supplyLoss') || this.faults.has('driverFailure')) return 0;
    // A day burner is stuck on (failed relay / photocell): full power whatever it is told.
    if (this.faults.has('dayBurner')) return 100;
    const since = this.faults.get('cyclingFailure');
    if (since !== undefined && this.dimLevel > 0) {
      const phase = Math.floor((this.nowMs - since) / CYCLING_HALF_PERIOD_MS) % 2;
      return phase === 0 ? this.dimLevel : 0;
    }
    return this.dimLevel;
  }

  /** Whether the lamp emits light (lamp failure: the driver is on but the lamp is dark). */
  get lit(): boolean {
    return this.effectiveLevel > 0 && !this.faults.has('lampFailure');
  }

  /** Mains power now, W. */
  get powerW(): number {
    if (this.faults.has('supplyLoss')) return 0;
    if (this.faults.has('driverFailure')) return DRIVER_FAILED_W;
    const level = this.effectiveLevel;
    if (level <= 0) return this.electrics.standbyPowerW;
    // A failed lamp is an open circuit: the driver idles, drawing about its standby power.
    if (this.faults.has('lampFailure')) return this.electrics.standbyPowerW;
    return litPowerW(this.electrics, level);
  }

  /** Moves time forward by dtMs at the current (constant) power. */
  advance(dtMs: number): void {
    if (dtMs < 0) throw new Error('advance: dtMs must be >= 0');
    this.noteSwitchOn();
    const hours = dtMs / 3_600_000;
    const wh = this.powerW * hours;
    this.energyCounterWh += wh;
    this.groundTruthWh += wh;
    if (this.lit) this.operatingHours += hours;
    this.nowMs += dtMs;
    // A cycling lamp can change state at the new instant; count it now so the counter is current.
    this.noteSwitchOn();
  }

  private noteSwitchOn(): void {
    const lit = this.lit;
    if (lit && !this.wasLit) this.switchOnCounter++;
    this.wasLit = lit;
  }

  /**
   * A reading at the current time. Voltage jitters ±~1% around the pole's supply voltage;
   * current = P / (V · PF). Returns null during supply loss: a dead controller reports nothing.
   */
  reading(device: string, rng: Prng): LuminaireReading | null {
    if (this.faults.has('supplyLoss')) return null;
    const voltage = this.electrics.supplyVoltageV + rng.normal() * 1.2;
    const power = this.powerW;
    const pf = powerFactor(this.effectiveLevel / 100, this.lit);
    return {
      device,
      ts: Math.round(this.nowMs),
      activePower: round(power, 2),
      activeEnergy: this.energyCounterWh,
      dimLevel: this.dimLevel,
      voltage: round(voltage, 1),
      current: round(power / (voltage * pf), 4),
      powerFactor: round(pf, 3),
      operatingHours: round(this.operatingHours, 4),
      switchOnCounter: this.switchOnCounter,
      status: this.status,
    };
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
