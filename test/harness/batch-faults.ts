// A fault hook at the cloud broker's door, ahead of ingest: telemetry batches the agents publish are
// taken out of the stream (the agent gets its PUBACK, ingest sees nothing yet) and handed to ingest
// later, after newer ones (out of order); batches already handed over are handed over again
// (duplicates). Seeded, so a run is reproducible; it changes no byte of any batch.
import type { City } from '@poste/city';
import { mulberry32 } from '@poste/simulators';

type Done = (err?: Error | null) => void;
interface PublishLike {
  topic: string;
  payload: Buffer | string;
}
type AuthorizePublish = (client: unknown, packet: PublishLike, done: Done) => void;

export interface BatchFaultOptions {
  seed: number;
  /** chance a batch is held back (delivered later, out of order) */
  holdChance?: number;
  /** chance a delivered batch is followed by a replay of an earlier one */
  replayChance?: number;
  /** at most this many batches held at once (a bounded queue) */
  maxHeld?: number;
}

export interface BatchFaults {
  readonly stats: { held: number; releasedLate: number; replayed: number; refused: number };
  /** Stops holding batches back and hands every held one to ingest; resolves once ingest took them. */
  drain(): Promise<void>;
  /** Puts the broker's own hook back. */
  remove(): void;
}

const TELEMETRY = /\/telemetry\/(luminaire|ap)$/;
/** Replays are drawn from the last this many delivered batches (bounded memory). */
const REPLAY_WINDOW = 200;

export function injectBatchFaults(city: City, opts: BatchFaultOptions): BatchFaults {
  const aedes = city.broker.aedes as unknown as { authorizePublish: AuthorizePublish };
  const inner = aedes.authorizePublish;
  const rng = mulberry32(opts.seed);
  const maxHeld = opts.maxHeld ?? 30;
  const held: { client: unknown; packet: PublishLike }[] = [];
  const delivered: { client: unknown; packet: PublishLike }[] = [];
  const stats = { held: 0, releasedLate: 0, replayed: 0, refused: 0 };
  let holding = true;
  /** Hands a batch to ingest as the broker would (its ACL, limits and ingest), outside any client's flow. */
  const deliver = (client: unknown, packet: PublishLike) =>
    new Promise<void>((resolve, reject) =>
      inner.call(aedes, client, packet, (err) => {
        if (err) {
          stats.refused++;
          reject(err);
        } else resolve();
      }),
    );
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const q = p.catch(() => undefined).finally(() => pending.delete(q));
    pending.add(q);
  };

  aedes.authorizePublish = (client, packet, done) => {
    if (!client || !TELEMETRY.test(packet.topic)) return inner.call(aedes, client, packet, done);
    // A copy: Aedes may reuse the packet object once it is handled.
    const copy: PublishLike = { ...packet, payload: Buffer.from(packet.payload) };
    if (holding && held.length < maxHeld && rng.next() < (opts.holdChance ?? 0.2)) {
      held.push({ client, packet: copy });
      stats.held++;
      done(null);
      return;
    }
    inner.call(aedes, client, packet, (err) => {
      done(err);
      if (err) return;
      delivered.push({ client, packet: copy });
      if (delivered.length > REPLAY_WINDOW) delivered.shift();
      // Now and then an older held batch follows this newer one …
      if (held.length > 0 && rng.next() < 0.5) {
        const late = held.splice(Math.floor(rng.next() * held.length), 1)[0]!;
        stats.releasedLate++;
        track(deliver(late.client, late.packet).then(() => void delivered.push(late)));
      }
      // … and an already delivered one comes again.
      if (rng.next() < (opts.replayChance ?? 0.25)) {
        const again = delivered[Math.floor(rng.next() * delivered.length)]!;
        stats.replayed++;
        track(deliver(again.client, again.packet));
      }
    });
  };

  return {
    stats,
    async drain() {
      holding = false;
      for (const late of held.splice(0)) {
        stats.releasedLate++;
        await deliver(late.client, late.packet);
      }
      await Promise.all([...pending]);
    },
    remove() {
      aedes.authorizePublish = inner;
    },
  };
}
