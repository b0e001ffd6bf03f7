import type { CommandTarget, DesiredConfig } from '@poste/protocol';
import type { FleetDevice } from '../fleet';
import type { Inventory } from '../inventory';
import type { OverrideTarget } from './command-schemas';

/** A request that cannot be carried out as asked: the route answers `status` with this message. */
export class PlanError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface PlannedMessage {
  gateway: string;
  target: CommandTarget;
}

const describeTarget = (t: CommandTarget) => ('device' in t ? `device:${t.device}` : 'group' in t ? `group:${t.group}` : 'gateway');
export { describeTarget };

/**
 * Which gateway gets which command for an override target, from the devices the fleet has seen: a
 * luminaire goes to its gateway; a group to every gateway of the municipality with luminaires in
 * it (the agent fans a group out); a municipality to each of its gateways, one command per group
 * and one per luminaire without a group.
 */
export function planOverride(target: OverrideTarget, devices: readonly FleetDevice[], inventory: Inventory): PlannedMessage[] {
  const lums = devices.filter((d) => d.kind === 'luminaire');
  if ('luminaire' in target) {
    const d = lums.find((l) => l.device === target.luminaire);
    if (!d) throw new PlanError(404, `luminaire ${target.luminaire} has not been seen on any gateway`);
    return [{ gateway: d.gateway, target: { device: d.device } }];
  }
  if (!inventory.municipality(target.municipality)) throw new PlanError(404, `unknown municipality ${target.municipality}`);
  const inMunicipality = lums.filter((l) => inventory.gateways[l.gateway] === target.municipality);
  const out = new Map<string, PlannedMessage>();
  for (const l of inMunicipality) {
    if ('group' in target && l.group !== target.group) continue;
    const t: CommandTarget = l.group !== undefined ? { group: l.group } : { device: l.device };
    out.set(`${l.gateway}\u0000${describeTarget(t)}`, { gateway: l.gateway, target: t });
  }
  if (out.size === 0) {
    throw new PlanError(
      404,
      'group' in target
        ? `no luminaire of group ${target.group} seen in ${target.municipality}`
        : `no luminaire seen in ${target.municipality}`,
    );
  }
  return [...out.values()];
}

interface SchedulerShape {
  programs?: { id: string }[];
  calendars?: { id: string; defaultProgram: string; rules: unknown[] }[];
  groups?: { id: string; calendar: string }[];
}

/**
 * The next desired config of one gateway with `group` on `calendar` (or on a calendar running
 * `program` every day, added when missing). Undefined when the gateway's config has no such group.
 */
export function assignCalendarConfig(
  current: DesiredConfig,
  group: string,
  choice: { calendar?: string | undefined; program?: string | undefined },
): DesiredConfig | undefined {
  const scheduler = structuredClone(current.config.scheduler) as SchedulerShape | undefined;
  const g = scheduler?.groups?.find((x) => x.id === group);
  if (!scheduler || !g) return undefined;
  let calendar = choice.calendar;
  if (choice.program !== undefined) {
    if (!scheduler.programs?.some((p) => p.id === choice.program))
      throw new PlanError(409, `no program ${choice.program} in the gateways' configuration`);
    calendar = `every-day-${choice.program}`.slice(0, 64);
    scheduler.calendars ??= [];
    if (!scheduler.calendars.some((c) => c.id === calendar))
      scheduler.calendars.push({ id: calendar, defaultProgram: choice.program, rules: [] });
  } else if (!scheduler.calendars?.some((c) => c.id === calendar)) {
    throw new PlanError(409, `no calendar ${calendar} in the gateways' configuration`);
  }
  g.calendar = calendar!;
  return { v: 1, version: current.version + 1, config: { ...current.config, scheduler } };
}
