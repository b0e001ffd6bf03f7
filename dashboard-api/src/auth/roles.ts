import { z } from 'zod';

/**
 * Roles, lowest first; each includes everything the ones before it may do.
 * - viewer: reads (figures, faults, command audit, households' ledgers)
 * - operator: every write of day-to-day operation (overrides, faults, households, revenue)
 * - technician: also changes what devices run (calendars/programs, an AP's public share)
 * - admin: also manages tokens
 * Every write needs operator or above.
 */
export const ROLES = ['viewer', 'operator', 'technician', 'admin'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** What a route needs: `public` (anyone), `aggregate` (public only when the operator allows it), or a least role. */
export type Access = 'public' | 'aggregate' | Role;

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
