// Who is subscribed to what on the LAN endpoint. A device subscribes to its own command topic (no
// wildcard): found with one map lookup per PUBLISH, whatever the number of devices. Filters with
// wildcards (only open mode allows them: test rigs, simulators) are matched one by one.
import type { QoS } from 'mqtt-packet';
import type { LanSession } from './lan-session';
import { topicMatches } from './retained-store';

/** MQTT 3.1.1 §4.7.1: `#` only as the whole last level, `+` only as a whole level; not empty. */
export function validFilter(filter: string): boolean {
  if (filter === '' || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as string;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}

/** A topic name a client may publish to (§4.7.3): not empty, no wildcards, no NUL. */
export function validTopicName(topic: string): boolean {
  return topic !== '' && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000');
}

const hasWildcard = (filter: string): boolean => filter.includes('+') || filter.includes('#');

/** Subscriptions one session may hold: beyond, a SUBSCRIBE is answered 0x80 for the extra filters. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 100;

export class SubscriptionIndex {
  /** filter → its subscriber, or several (one per device is the rule: no Map per filter) */
  readonly #exact = new Map<string, LanSession | LanSession[]>();
  readonly #wild = new Map<string, Set<LanSession>>();

  /** Adds or updates a subscription; false when the session holds as many as it may. */
  add(filter: string, session: LanSession, qos: QoS): boolean {
    const subs = session.subs;
    const existing = subs?.find(([f]) => f === filter);
    if (existing !== undefined) {
      existing[1] = qos;
      return true;
    }
    if (subs === null) {
      // a literal: exactly one slot (an array grown by push reserves 17)
      session.subs = [[filter, qos]];
    } else if (subs.length >= MAX_SUBSCRIPTIONS_PER_SESSION) return false;
    else subs.push([filter, qos]);
    if (hasWildcard(filter)) {
      let set = this.#wild.get(filter);
      if (set === undefined) {
        set = new Set();
        this.#wild.set(filter, set);
      }
      set.add(session);
      return true;
    }
    const held = this.#exact.get(filter);
    if (held === undefined) this.#exact.set(filter, session);
    else if (Array.isArray(held)) held.push(session);
    else this.#exact.set(filter, [held, session]);
    return true;
  }

  remove(filter: string, session: LanSession): void {
    const subs = session.subs;
    const at = subs?.findIndex(([f]) => f === filter) ?? -1;
    if (subs === null || at < 0) return;
    subs.splice(at, 1);
    if (subs.length === 0) session.subs = null;
    if (hasWildcard(filter)) {
      const set = this.#wild.get(filter);
      if (set?.delete(session) && set.size === 0) this.#wild.delete(filter);
      return;
    }
    const held = this.#exact.get(filter);
    if (held === session) this.#exact.delete(filter);
    else if (Array.isArray(held)) {
      const rest = held.filter((s) => s !== session);
      if (rest.length === 1) this.#exact.set(filter, rest[0] as LanSession);
      else this.#exact.set(filter, rest);
    }
  }

  /** Drops every subscription of a session (clean session ended, session evicted). */
  removeAll(session: LanSession): void {
    for (const [filter] of [...(session.subs ?? [])]) this.remove(filter, session);
  }

  /**
   * Calls `to` once per session a message on `topic` goes to, with the highest QoS of its matching
   * filters (MQTT 3.1.1 §3.3.5 allows one message per client for overlapping subscriptions).
   */
  forEachMatch(topic: string, to: (session: LanSession, qos: QoS) => void): void {
    const exact = this.#exact.get(topic);
    if (this.#wild.size === 0) {
      if (exact === undefined) return;
      if (Array.isArray(exact)) for (const s of [...exact]) to(s, s.grantedFor(topic) ?? 0);
      else to(exact, exact.grantedFor(topic) ?? 0);
      return;
    }
    const best = new Map<LanSession, QoS>();
    if (exact !== undefined) for (const s of Array.isArray(exact) ? exact : [exact]) best.set(s, s.grantedFor(topic) ?? 0);
    for (const [filter, sessions] of this.#wild) {
      if (!topicMatches(filter, topic)) continue;
      for (const s of sessions) {
        const q = s.grantedFor(filter) ?? 0;
        if ((best.get(s) ?? -1) < q) best.set(s, q);
      }
    }
    for (const [s, q] of best) to(s, q);
  }
}
