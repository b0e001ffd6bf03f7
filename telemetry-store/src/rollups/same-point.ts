import type { Point } from '../types';

/**
 * Do two points with the same identity carry the same values? Tags and fields are compared by name
 * as one record (a name is never both, and a table row does not say which a column was); a value
 * one has and the other lacks is a difference. Numbers compare exactly (every store keeps float64
 * as given).
 */
export function samePoint(a: Point, b: Point): boolean {
  return sameRecord({ ...a.tags, ...a.fields }, { ...b.tags, ...b.fields });
}

function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
  return true;
}
