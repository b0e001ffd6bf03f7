/**
 * The live feed behind GET /api/v1/stream: fleet changes, faults and command outcomes. Each event
 * gets an increasing id; the last `replay` events are kept so a client reconnecting with
 * Last-Event-ID misses nothing that recent. Listeners are called synchronously and must not throw
 * (each SSE connection bounds its own backlog).
 */
export type LiveEventType = 'fleet' | 'fault' | 'command' | 'household';

export interface LiveEvent {
  id: number;
  type: LiveEventType;
  ts: number;
  data: unknown;
}

export interface EventHub {
  publish(type: LiveEventType, data: unknown): LiveEvent;
  /** Events after `lastId` still in the replay buffer, oldest first. */
  since(lastId: number): LiveEvent[];
  subscribe(listener: (e: LiveEvent) => void): () => void;
  subscribers(): number;
}

export function createEventHub(opts: { replay?: number; now?: () => number } = {}): EventHub {
  const replay = opts.replay ?? 512;
  const now = opts.now ?? Date.now;
  const ring: LiveEvent[] = [];
  const listeners = new Set<(e: LiveEvent) => void>();
  let nextId = 1;
  return {
    publish(type, data) {
      const e: LiveEvent = { id: nextId++, type, ts: now(), data };
      ring.push(e);
      if (ring.length > replay) ring.shift();
      for (const l of listeners) {
        try {
          l(e);
        } catch {
          // a broken listener must not stop the others
        }
      }
      return e;
    },
    since: (lastId) => ring.filter((e) => e.id > lastId),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    subscribers: () => listeners.size,
  };
}
