// Dynamic (sensor-driven) control state and its ramp/hold envelope, plus the typed-array grow helper.
// A control's effect on its groups is level = program + envelope × (op(program, level) − program),
// so ramps and holds cost one small computation per control per tick, nothing per luminaire.
import type { DynamicControl } from './config-schema';

export interface ControlState {
  cfg: DynamicControl;
  groups: Int32Array;
  upStartMs: number;
  upFrom: number;
  holdUntilMs: number;
}

export function grow<T extends Float32Array | Float64Array | Int32Array | Uint16Array | Uint8Array>(a: T, size: number, fill?: number): T {
  const ctor = a.constructor as new (n: number) => T;
  const b = new ctor(size);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

/** Ramp/hold envelope of a dynamic control at `t`, 0..1. */
export function envelope(c: ControlState, t: number): number {
  const up = c.cfg.rampUpMs;
  const atHold = up > 0 ? Math.min(1, c.upFrom + (Math.min(t, c.holdUntilMs) - c.upStartMs) / up) : 1;
  if (t < c.holdUntilMs) return up > 0 ? atHold : 1;
  const down = c.cfg.rampDownMs;
  if (c.holdUntilMs === -Infinity) return 0;
  return down > 0 ? Math.max(0, atHold - (t - c.holdUntilMs) / down) : 0;
}
