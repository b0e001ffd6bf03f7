import type { PayloadError } from './decode';
import type { ApCoproduction, ApReading, LuminaireReading } from './telemetry';

/**
 * What a street light and a pole-top access point can physically report. The zod schemas say what
 * is well-formed; these bounds say what is believable, so a reading of `activeEnergy: 1e308` (or a
 * counter that jumps by a city's yearly consumption in a minute) never reaches the savings.
 * Checked with plain comparisons after the schema parse: no second schema pass per reading.
 *
 * The figures, and why a street-lighting engineer would sign them:
 */
export const LUMINAIRE_BOUNDS = {
  /**
   * W. Road luminaires are 20–400 W (LED) and up to ~1 kW for the largest HPS; high-mast
   * floodlights reach 2 kW. 2,500 W covers a 2 kW floodlight with a 25 % surge margin.
   */
  maxActivePowerW: 2_500,
  /**
   * Wh, cumulative. 2,500 W lit 24 h a day for 45 years is ~9.9e8 Wh; nothing on a pole counts past 1e9.
   */
  maxActiveEnergyWh: 1e9,
  /**
   * V RMS. Mains for street lighting is 100–277 V single-phase (127/220 V in Brazil), up to 480 V
   * between phases; a reading over 600 V is a broken sensor or a lie. 0 is real (supply loss).
   */
  maxVoltageV: 600,
  /** A RMS. 2,500 W at 100 V with a 0.9 power factor is ~28 A; 32 A is a typical circuit breaker. */
  maxCurrentA: 32,
  /** h lit, cumulative: 60 years of continuous burning (525,960 h), more than any luminaire lives. */
  maxOperatingHours: 526_000,
  /** Switch-ons, cumulative: a cycling lamp restarting every 10 s for 30 years is ~9.5e7. */
  maxSwitchOnCounter: 1e8,
} as const;

export const AP_BOUNDS = {
  /** kbit/s. 10 Gbit/s: a 10GbE backhaul, above any pole-top radio's uplink. */
  maxCapacityKbps: 10_000_000,
  /** s since boot: 20 years. */
  maxUptimeS: 20 * 365.25 * 24 * 3600,
  /** Associated clients per class: outdoor APs cap associations at 256–512 per radio, two radios. */
  maxClientsPerClass: 1_024,
  /** Bytes per class, cumulative: beyond 2^53 a JSON number no longer counts single bytes. */
  maxBytesPerClass: Number.MAX_SAFE_INTEGER,
  /**
   * Bytes/s through one AP, all classes, rx+tx: 10 Gbit/s, above the sum of the PHY rates of two
   * Wi-Fi 6 radios (2 × 2.4 Gbit/s at 160 MHz, 2×2) — what bounds a counter's step.
   */
  maxLinkBytesPerS: 10e9 / 8,
  /**
   * Telemedicine sessions started since boot: at most one per second of uptime (a consult takes
   * minutes; a clinic's app retrying once a second is already a fault), plus this many.
   */
  sessionStartAllowance: 100,
  /** s: the reserve's seconds are counted while the AP is up, so at most its uptime plus this (clock jitter, rounding). */
  reserveSecondsAllowanceS: 60,
} as const;

/** An event's optional magnitude (traffic count, dropped readings …). */
export const MAX_EVENT_VALUE_ABS = 1e12;

/**
 * Step bounds: how far a cumulative counter may rise between two readings of the same device,
 * given the time between their timestamps (device clocks; simulated time runs through unchanged).
 */
export const STEP_BOUNDS = {
  /**
   * Energy may rise by at most (power × slack) × elapsed time + allowance. Power is the device's
   * announced nominal power when known, else maxActivePowerW. Slack 1.25: IEC 62722-2-1 lets the
   * measured power exceed the rated power by 10 %, plus metering tolerance and start-up surges.
   */
  powerSlack: 1.25,
  /** Wh: rounding of the counter and a reading taken mid-interval. */
  energyAllowanceWh: 5,
  /** h: operating hours rise at most with the clock, plus rounding. */
  operatingHoursAllowance: 0.1,
  /** switch-ons: at most one per second of elapsed time, plus this many. */
  switchOnAllowance: 5,
  /** s: uptime rises with the clock, plus jitter between the AP's and the gateway's clocks. */
  uptimeAllowanceS: 60,
  /** bytes: one reading's worth of rounding and counter-sampling skew between classes. */
  bytesAllowance: 64 * 1024 * 1024,
} as const;

/** Default tolerance for timestamps ahead of the receiver's clock (gateways keep NTP time). */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000;

/**
 * How long before its first known birth a device's reading may be dated. A birth is stamped when
 * the device connects, and readings it measured or buffered while booting, or while its link was
 * down, predate it; a day covers those, while a reading dated months or decades before the device
 * ever appeared is refused.
 */
export const DEFAULT_BIRTH_GRACE_MS = 24 * 3_600_000;

const over = (path: string, value: number, max: number, unit: string): PayloadError => ({
  path,
  reason: `implausible: ${value} ${unit} is over ${max} ${unit}`,
});

/** Absolute bounds of one luminaire reading (zod already checked types, signs and dimLevel). */
export function checkLuminaireBounds(r: LuminaireReading): PayloadError | null {
  const b = LUMINAIRE_BOUNDS;
  if (r.activePower > b.maxActivePowerW) return over('activePower', r.activePower, b.maxActivePowerW, 'W');
  if (r.activeEnergy > b.maxActiveEnergyWh) return over('activeEnergy', r.activeEnergy, b.maxActiveEnergyWh, 'Wh');
  if (r.voltage > b.maxVoltageV) return over('voltage', r.voltage, b.maxVoltageV, 'V');
  if (r.current > b.maxCurrentA) return over('current', r.current, b.maxCurrentA, 'A');
  if (r.operatingHours > b.maxOperatingHours) return over('operatingHours', r.operatingHours, b.maxOperatingHours, 'h');
  if (r.switchOnCounter > b.maxSwitchOnCounter) return over('switchOnCounter', r.switchOnCounter, b.maxSwitchOnCounter, 'switch-ons');
  return null;
}

const CLASSES = ['household', 'telemedicine', 'public'] as const;

/** Absolute bounds of one AP reading. */
export function checkApBounds(r: ApReading): PayloadError | null {
  const b = AP_BOUNDS;
  if (r.capacityKbps > b.maxCapacityKbps) return over('capacityKbps', r.capacityKbps, b.maxCapacityKbps, 'kbit/s');
  if (r.uptime > b.maxUptimeS) return over('uptime', r.uptime, b.maxUptimeS, 's');
  for (const c of CLASSES) {
    if (r.clients[c] > b.maxClientsPerClass) return over(`clients.${c}`, r.clients[c], b.maxClientsPerClass, 'clients');
    if (r.bytes[c] > b.maxBytesPerClass) return over(`bytes.${c}`, r.bytes[c], b.maxBytesPerClass, 'bytes');
  }
  return r.coproduction ? checkCoproduction(r.coproduction, r.uptime) : null;
}

/**
 * The coproduction figures against the reading's own uptime (no state needed). The reserve is
 * bounded like a capacity, not by the reading's capacityKbps: an AP that cannot measure its uplink
 * reports 0 there, and its sessions and seconds are still worth keeping.
 */
function checkCoproduction(c: ApCoproduction, uptimeS: number): PayloadError | null {
  const b = AP_BOUNDS;
  const maxSessions = uptimeS + b.sessionStartAllowance;
  if (c.telemedicineSessions > maxSessions)
    return over('coproduction.telemedicineSessions', c.telemedicineSessions, maxSessions, 'sessions (one per second of uptime)');
  if (c.telemedicineSessionsActive > b.maxClientsPerClass)
    return over('coproduction.telemedicineSessionsActive', c.telemedicineSessionsActive, b.maxClientsPerClass, 'sessions');
  if (c.reserveKbps > b.maxCapacityKbps) return over('coproduction.reserveKbps', c.reserveKbps, b.maxCapacityKbps, 'kbit/s');
  const maxMeasured = uptimeS + b.reserveSecondsAllowanceS;
  if (c.reserveMeasuredS > maxMeasured) return over('coproduction.reserveMeasuredS', c.reserveMeasuredS, maxMeasured, 's (uptime)');
  if (c.reserveHonouredS > c.reserveMeasuredS)
    return over('coproduction.reserveHonouredS', c.reserveHonouredS, c.reserveMeasuredS, 's (reserveMeasuredS)');
  return null;
}

/** An event's magnitude, when it has one. */
export function checkEventValue(value: number | undefined): PayloadError | null {
  if (value === undefined || Math.abs(value) <= MAX_EVENT_VALUE_ABS) return null;
  return { path: 'value', reason: `implausible: |${value}| is over ${MAX_EVENT_VALUE_ABS}` };
}

/** The counters of a luminaire's last accepted reading, against which the next one is stepped. */
export interface LuminaireCounters {
  ts: number;
  activeEnergy: number;
  operatingHours: number;
  switchOnCounter: number;
}

/** The counters of an AP's last accepted reading. */
export interface ApCounters {
  ts: number;
  uptime: number;
  bytes: number;
}

/** How much a counter rose; a counter below its last value was reset (reboot), so it rose from 0. */
const rise = (prev: number, cur: number): number => (cur >= prev ? cur - prev : cur);

const tooFast = (path: string, rose: number, unit: string, seconds: number, max: number, why: string): PayloadError => ({
  path,
  reason: `implausible step: rose ${rose} ${unit} in ${seconds} s, at most ${Math.round(max * 1000) / 1000} ${unit} (${why})`,
});

/**
 * A luminaire reading against the last accepted one of the same device. Only a later reading is
 * stepped; an older one (a gateway's spool replaying) is judged by the absolute bounds alone.
 * `maxPowerW`: the device's announced nominal power, or maxActivePowerW when unknown.
 */
export function checkLuminaireStep(prev: LuminaireCounters, cur: LuminaireReading, maxPowerW: number): PayloadError | null {
  if (cur.ts <= prev.ts) return null;
  const seconds = (cur.ts - prev.ts) / 1000;
  const hours = seconds / 3600;
  const s = STEP_BOUNDS;
  const energy = rise(prev.activeEnergy, cur.activeEnergy);
  const maxEnergy = maxPowerW * s.powerSlack * hours + s.energyAllowanceWh;
  if (energy > maxEnergy) return tooFast('activeEnergy', energy, 'Wh', seconds, maxEnergy, `${maxPowerW} W × ${s.powerSlack}`);
  const lit = rise(prev.operatingHours, cur.operatingHours);
  const maxLit = hours + s.operatingHoursAllowance;
  if (lit > maxLit) return tooFast('operatingHours', lit, 'h', seconds, maxLit, 'the clock');
  const switches = rise(prev.switchOnCounter, cur.switchOnCounter);
  const maxSwitches = seconds + s.switchOnAllowance;
  if (switches > maxSwitches) return tooFast('switchOnCounter', switches, 'switch-ons', seconds, maxSwitches, 'one per second');
  return null;
}

/** Bytes of all classes, the figure stepped against the link's rate. */
export function apBytesTotal(r: ApReading): number {
  return r.bytes.household + r.bytes.telemedicine + r.bytes.public;
}

/** An AP reading against the last accepted one of the same AP (see checkLuminaireStep). */
export function checkApStep(prev: ApCounters, cur: ApReading): PayloadError | null {
  if (cur.ts <= prev.ts) return null;
  const seconds = (cur.ts - prev.ts) / 1000;
  const s = STEP_BOUNDS;
  const up = rise(prev.uptime, cur.uptime);
  const maxUp = seconds + s.uptimeAllowanceS;
  if (up > maxUp) return tooFast('uptime', up, 's', seconds, maxUp, 'the clock');
  const bytes = rise(prev.bytes, apBytesTotal(cur));
  const maxBytes = AP_BOUNDS.maxLinkBytesPerS * seconds + s.bytesAllowance;
  if (bytes > maxBytes) return tooFast('bytes', bytes, 'bytes', seconds, maxBytes, `${AP_BOUNDS.maxLinkBytesPerS * 8} bit/s`);
  return null;
}

/** ISO time where Date can show it (up to year 275760), else the raw milliseconds. */
const iso = (ms: number): string => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`);

export type TimestampRefusal = 'future-timestamp' | 'before-birth';

/**
 * A reading's timestamp against the receiver's clock (at most `maxSkewMs` ahead) and the device's
 * birth (the earliest birth the receiver has seen for it; at most `birthGraceMs` before it).
 */
export function checkTimestamp(
  ts: number,
  nowMs: number,
  maxSkewMs: number,
  birthTs: number | undefined,
  birthGraceMs: number = DEFAULT_BIRTH_GRACE_MS,
): { reason: TimestampRefusal; error: PayloadError } | null {
  if (ts > nowMs + maxSkewMs) {
    return {
      reason: 'future-timestamp',
      error: { path: 'ts', reason: `${iso(ts)} is more than ${maxSkewMs} ms after now (${iso(nowMs)})` },
    };
  }
  if (birthTs !== undefined && ts < birthTs - birthGraceMs) {
    return {
      reason: 'before-birth',
      error: { path: 'ts', reason: `${iso(ts)} is more than ${birthGraceMs} ms before the device's birth (${iso(birthTs)})` },
    };
  }
  return null;
}
