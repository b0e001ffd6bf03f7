import {
  AckSchema,
  type Clock,
  type Command,
  decode,
  DesiredConfigSchema,
  type DesiredConfig,
  encode,
  ReportedConfigSchema,
  topic,
} from '@poste/protocol';
import type { Principal } from '../auth/token-store';
import type { EventHub } from '../events/event-hub';
import type { FleetLogger, FleetTracker } from '../fleet';
import type { Inventory } from '../inventory';
import type { CommandBook } from './command-book';
import type { CommandPart, CommandRecord, CommandRequest } from './command-schemas';
import { assignCalendarConfig, describeTarget, PlanError, planOverride } from './plan';

export interface DispatcherOptions {
  fleet: FleetTracker;
  inventory: Inventory;
  book: CommandBook;
  hub: EventHub;
  /** the fleet's clock (simulated in the city): issuedAt/expiresAt, scheduled starts */
  clock: Clock;
  /** real ms to wait for an ack or a reported config before the part is `timeout` (default 30 s) */
  ackTimeoutMs?: number;
  /** clock ms a command stays executable after it is sent (its expiresAt; default 1 h) */
  commandTtlMs?: number;
  /** real ms between checks for due starts and time-outs (default 500) */
  tickMs?: number;
  logger?: FleetLogger;
}

export interface CommandDispatcher {
  /** Plans, records and (unless its start is later) sends; throws PlanError when it cannot be carried out. */
  submit(req: CommandRequest, who: Principal): Promise<CommandRecord>;
  /** Cancels a command still scheduled. */
  cancel(id: string, who: Principal): CommandRecord | undefined;
  stop(): void;
}

/**
 * Commands through the agents: overrides as `dim`/`clearOverride` on `poste/v1/gw/{gw}/cmd`, each
 * part answered by the gateway's ack on `…/ack`; calendar/program assignments as a new retained
 * desired config version, answered by the agent's reported config (applied or rejected). Every
 * change is saved in the audit book and sent to the live feed.
 */
export function startCommandDispatcher(opts: DispatcherOptions): CommandDispatcher {
  const { fleet, inventory, book, hub, clock } = opts;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
  const ttl = opts.commandTtlMs ?? 3_600_000;
  const desired = new Map<string, DesiredConfig>();
  const reportedVersion = new Map<string, number>();
  /** The next version for a gateway: above what it was told and what it applied (a restarted publisher may have re-sent an older one). */
  const nextVersion = (gw: string) => Math.max(desired.get(gw)?.version ?? 0, reportedVersion.get(gw) ?? 0) + 1;
  /** part ref → its command, for acks and reported configs */
  const waiting = new Map<string, { rec: CommandRecord; part: CommandPart; sentReal: number }>();
  const open = new Set<CommandRecord>(book.all().filter((r) => r.state === 'scheduled' || r.state === 'sent'));

  const changed = (rec: CommandRecord) => {
    book.save(rec);
    hub.publish('command', rec);
  };
  const settleIfAnswered = (rec: CommandRecord) => {
    if (rec.parts.some((p) => p.outcome === 'pending')) return;
    const done = rec.parts.filter((p) => p.outcome === 'done').length;
    rec.state = done === rec.parts.length ? 'done' : done > 0 ? 'partial' : 'failed';
    rec.outcome = rec.parts.find((p) => p.outcome !== 'done')?.outcome ?? 'done';
    rec.completedAt = clock.now();
    open.delete(rec);
  };
  const answer = (ref: string, outcome: CommandPart['outcome'], detail?: string) => {
    const w = waiting.get(ref);
    if (!w) return;
    waiting.delete(ref);
    w.part.outcome = outcome;
    w.part.answeredAt = clock.now();
    if (detail !== undefined) w.part.detail = detail.slice(0, 500);
    settleIfAnswered(w.rec);
    changed(w.rec);
  };

  const send = async (rec: CommandRecord) => {
    const req = rec.request as CommandRequest;
    const now = clock.now();
    const parts: CommandPart[] = [];
    const publishes: Array<() => Promise<void>> = [];
    if (req.kind === 'assignCalendar') {
      const gateways = Object.entries(inventory.gateways)
        .filter(([, m]) => m === req.municipality)
        .map(([g]) => g);
      for (const gw of gateways) {
        const current = desired.get(gw);
        const assigned = current && assignCalendarConfig(current, req.group, req);
        if (!assigned) continue;
        const next = { ...assigned, version: nextVersion(gw) };
        desired.set(gw, next);
        parts.push({ gateway: gw, ref: `config:${gw}:${next.version}`, target: `group:${req.group}`, outcome: 'pending' });
        publishes.push(() => fleet.publish(topic('configDesired', { gateway: gw }), encode(next), { retain: true }));
      }
      if (parts.length === 0) throw new PlanError(404, `no gateway of ${req.municipality} has group ${req.group} in its configuration`);
    } else if (req.kind === 'apPublicShare') {
      const ap = fleet.devices().find((d) => d.kind === 'ap' && d.device === req.ap);
      if (!ap) throw new PlanError(404, `access point ${req.ap} has not been seen on any gateway`);
      const gw = ap.gateway;
      const current = desired.get(gw);
      // Without the gateway's current desired config a new version would drop its scheduler.
      if (!current && (reportedVersion.get(gw) ?? 0) > 0)
        throw new PlanError(409, `the current desired config of ${gw} is not known yet; retry in a moment`);
      const base = current?.config ?? {};
      const policy = {
        publicCapKbps: req.publicCapKbps,
        ...(req.householdReserveKbps !== undefined ? { householdReserveKbps: req.householdReserveKbps } : {}),
      };
      const next: DesiredConfig = {
        v: 1,
        version: nextVersion(gw),
        config: { ...base, bandwidth: { aps: { ...base.bandwidth?.aps, [req.ap]: policy } } },
      };
      desired.set(gw, next);
      parts.push({ gateway: gw, ref: `config:${gw}:${next.version}`, target: `ap:${req.ap}`, outcome: 'pending' });
      publishes.push(() => fleet.publish(topic('configDesired', { gateway: gw }), encode(next), { retain: true }));
    } else {
      planOverride(req.target, fleet.devices(), inventory).forEach((m, i) => {
        const id = `${rec.id}-${i}`;
        const base = { v: 1 as const, id, target: m.target, issuedAt: now, expiresAt: now + ttl };
        const cmd: Command =
          req.kind === 'override' ? { ...base, action: 'dim', level: req.level, until: req.expiry } : { ...base, action: 'clearOverride' };
        parts.push({ gateway: m.gateway, ref: id, target: describeTarget(m.target), outcome: 'pending' });
        publishes.push(() => fleet.publish(topic('command', { gateway: m.gateway }), encode(cmd)));
      });
    }
    rec.parts = parts;
    rec.state = 'sent';
    rec.sentAt = now;
    const sentReal = Date.now();
    for (const p of parts) waiting.set(p.ref, { rec, part: p, sentReal });
    open.add(rec);
    changed(rec);
    const results = await Promise.allSettled(publishes.map((p) => p()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') answer(parts[i]!.ref, 'failed', `not published: ${(r.reason as Error).message}`);
    });
  };

  const offAck = fleet.tap('ack', (_gw, payload) => {
    const a = decode(AckSchema, payload);
    if (!a.ok) return;
    const w = waiting.get(a.value.id);
    if (!w) return;
    const results = a.value.results;
    const summary = results?.length ? `${results.filter((r) => r.outcome === 'done').length}/${results.length} luminaires done` : undefined;
    answer(a.value.id, a.value.outcome, [a.value.detail, summary].filter(Boolean).join('; ') || undefined);
  });
  const offDesired = fleet.tap('configDesired', (gw, payload) => {
    if (payload.length === 0) return;
    const d = decode(DesiredConfigSchema, payload);
    const known = desired.get(gw);
    if (d.ok && (!known || d.value.version >= known.version)) desired.set(gw, d.value);
  });
  const offReported = fleet.tap('configReported', (gw, payload) => {
    const r = decode(ReportedConfigSchema, payload);
    if (!r.ok) return;
    reportedVersion.set(gw, Math.max(reportedVersion.get(gw) ?? 0, r.value.version, r.value.rejectedVersion ?? 0));
    for (const ref of [...waiting.keys()]) {
      if (!ref.startsWith(`config:${gw}:`)) continue;
      const v = Number(ref.split(':')[2]);
      if (r.value.status === 'applied' && r.value.version >= v) answer(ref, 'done');
      else if (r.value.status === 'rejected' && r.value.rejectedVersion === v)
        answer(ref, 'rejected', r.value.error ? `${r.value.error.path}: ${r.value.error.reason}` : 'rejected by the agent');
    }
  });

  const timer = setInterval(() => {
    const now = clock.now();
    for (const rec of [...open]) {
      if (rec.state !== 'scheduled') continue;
      const start = (rec.request as { start?: number }).start ?? 0;
      if (start <= now) {
        send(rec).catch((err: Error) => {
          rec.state = 'failed';
          rec.outcome = err instanceof PlanError ? 'unknownTarget' : 'failed';
          rec.completedAt = now;
          rec.parts = [{ gateway: '', ref: '', target: '', outcome: 'failed', detail: err.message }];
          open.delete(rec);
          changed(rec);
        });
      }
    }
    const realNow = Date.now();
    for (const [ref, w] of waiting) {
      if (realNow - w.sentReal > ackTimeoutMs) answer(ref, 'timeout', `no answer from ${w.part.gateway} within ${ackTimeoutMs / 1000} s`);
    }
    // Sent before a restart: nobody waits for those answers any more.
    for (const rec of [...open]) {
      if (rec.state === 'sent' && rec.parts.every((p) => p.outcome !== 'pending' || !waiting.has(p.ref))) {
        for (const p of rec.parts) if (p.outcome === 'pending') p.outcome = 'timeout';
        settleIfAnswered(rec);
        changed(rec);
      }
    }
  }, opts.tickMs ?? 500);
  timer.unref?.();

  return {
    async submit(req, who) {
      const now = clock.now();
      // Plan once now so a wrong target is a 404/409 to the operator, not a failure later.
      if (req.kind === 'override' || req.kind === 'clearOverride') planOverride(req.target, fleet.devices(), inventory);
      const rec = book.add({
        kind: req.kind,
        request: req as Record<string, unknown>,
        requestedBy: who.name,
        role: who.role,
        requestedAt: now,
        state: 'scheduled',
        parts: [],
      });
      open.add(rec);
      const start = req.kind === 'override' ? (req.start ?? now) : now;
      if (start > now) {
        hub.publish('command', rec);
        return rec;
      }
      try {
        await send(rec);
      } catch (err) {
        open.delete(rec);
        rec.state = 'failed';
        rec.outcome = 'unknownTarget';
        rec.completedAt = now;
        changed(rec);
        throw err;
      }
      return rec;
    },
    cancel(id, who) {
      const rec = book.get(id);
      if (rec?.state !== 'scheduled') return undefined;
      rec.state = 'cancelled';
      rec.outcome = `cancelled by ${who.name}`;
      rec.completedAt = clock.now();
      open.delete(rec);
      changed(rec);
      return rec;
    },
    stop() {
      clearInterval(timer);
      offAck();
      offDesired();
      offReported();
    },
  };
}
