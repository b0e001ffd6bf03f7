import { randomBytes } from 'node:crypto';
import type { Clock } from '@poste/protocol';
import type { Principal } from '../auth/token-store';
import type { CommandDispatcher } from '../commands/dispatcher';
import { PlanError } from '../commands/plan';
import type { EventHub } from '../events/event-hub';
import type { FleetLogger, FleetTracker } from '../fleet';
import type { Inventory } from '../inventory';
import { createJournal } from '../state/journal';
import { type EnrolRequest, type Household, HouseholdSchema } from './household-schemas';
import { insideWindows } from './windows';

export interface HouseholdService {
  /** Enrols a household (its consent recorded) and cedes its share at once when inside a window. */
  enrol(req: EnrolRequest, who: Principal): Promise<Household>;
  /** Revokes: the AP's public share goes to 0 now (a new desired config, applied at the agent's next tick). */
  revoke(id: string, who: Principal): Promise<Household | undefined>;
  get(id: string): Household | undefined;
  /** Newest first. */
  all(): Household[];
  stop(): Promise<void>;
}

const SYSTEM: Principal = { tokenId: 'system', name: 'households (time windows)', role: 'technician' };

/**
 * Households that cede part of their Wi-Fi. Each AP's public share follows its household: the
 * ceded kbit/s inside the household's time windows, 0 outside them or once revoked. The service
 * checks every `tickMs` (real) and sends an `apPublicShare` command (a desired-config version for
 * the AP's gateway, audited like any command) only when an AP's share changes.
 */
export async function startHouseholdService(deps: {
  fleet: FleetTracker;
  inventory: Inventory;
  commands: CommandDispatcher;
  hub: EventHub;
  clock: Clock;
  file?: string;
  tickMs?: number;
  logger?: FleetLogger;
}): Promise<HouseholdService> {
  const byId = new Map<string, Household>();
  const journal = createJournal(deps.file, HouseholdSchema, { live: () => byId.values() });
  for (const h of (await journal.load()).sort((a, b) => a.enrolledAt - b.enrolledAt)) byId.set(h.id, h);
  /** AP → the share last sent for it */
  const sent = new Map<string, number>();
  const save = (h: Household) => {
    journal.append(h);
    deps.hub.publish('household', { id: h.id, ap: h.ap, municipality: h.municipality, state: h.state });
  };
  const activeFor = (ap: string) => [...byId.values()].find((h) => h.ap === ap && h.state === 'active');
  const shareNow = (ap: string): number => {
    const h = activeFor(ap);
    if (!h) return 0;
    const tz = deps.inventory.municipality(h.municipality)?.timeZone ?? 'America/Sao_Paulo';
    return insideWindows(h.windows, deps.clock.now(), tz) ? h.cededKbps : 0;
  };
  const apply = async (ap: string, who: Principal, household?: string) => {
    const share = shareNow(ap);
    if (sent.get(ap) === share) return;
    sent.set(ap, share);
    try {
      await deps.commands.submit({ kind: 'apPublicShare', ap, publicCapKbps: share, ...(household ? { household } : {}) }, who);
    } catch (err) {
      sent.delete(ap); // tried again at the next tick
      if (!(err instanceof PlanError)) throw err;
      deps.logger?.warn({ ap, err: err.message }, 'households: cannot set the AP share yet');
    }
  };
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    const aps = new Set([...byId.values()].map((h) => h.ap));
    running = (async () => {
      for (const ap of aps) await apply(ap, SYSTEM, activeFor(ap)?.id).catch(() => undefined);
    })().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(tick, deps.tickMs ?? 1_000);
  timer.unref?.();

  return {
    async enrol(req, who) {
      const ap = deps.fleet.devices().find((d) => d.kind === 'ap' && d.device === req.ap);
      if (!ap) throw new PlanError(404, `access point ${req.ap} has not been seen on any gateway`);
      const existing = activeFor(req.ap);
      if (existing) throw new PlanError(409, `access point ${req.ap} is ceded by household ${existing.id} already; revoke that first`);
      const now = deps.clock.now();
      const h: Household = {
        id: `h-${randomBytes(6).toString('hex')}`,
        name: req.name,
        ap: req.ap,
        municipality: deps.inventory.gateways[ap.gateway] ?? '',
        cededKbps: req.cededKbps,
        windows: req.windows,
        consent: { accepted: true, termsVersion: req.consent.termsVersion, at: now, recordedBy: who.name },
        state: 'active',
        enrolledAt: now,
      };
      byId.set(h.id, h);
      save(h);
      await apply(h.ap, who, h.id);
      return h;
    },
    async revoke(id, who) {
      const h = byId.get(id);
      if (!h) return undefined;
      if (h.state === 'active') {
        h.state = 'revoked';
        h.revokedAt = deps.clock.now();
        h.revokedBy = who.name;
        save(h);
      }
      await apply(h.ap, who, h.id);
      return h;
    },
    get: (id) => byId.get(id),
    all: () => [...byId.values()].reverse(),
    async stop() {
      clearInterval(timer);
      await running;
      await journal.flush();
    },
  };
}
