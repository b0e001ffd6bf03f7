import { type RefusedPoint, refusedPointsError } from '../errors';
import type { Point } from '../types';

/**
 * Points per merged transaction at most. Ingest has a batch (5,000 points) or two waiting at a time;
 * other writers (a spool drain, the city simulator) may queue many: this keeps one transaction, and
 * the time before its first write is answered, bounded.
 */
export const MERGED_POINTS_MAX = 20_000;

interface Member {
  points: readonly Point[];
  offset: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Writes queued together while an earlier write runs: they are written as one batch (one
 * transaction, one commit), and each caller is answered for its own points — resolved when the
 * transaction committed, or a PartialWriteError naming its own refused indices, or the error that
 * failed the transaction. Points of a later write that duplicate an earlier write's are what they
 * would be written one after the other: skipped when identical, refused when conflicting.
 */
export class WriteGroup {
  private readonly members: Member[] = [];
  private readonly promises = new Map<readonly Point[], Promise<void>>();
  private size = 0;
  private started = false;

  /** Joins `points` to the group; false once it started or when they would exceed MERGED_POINTS_MAX. */
  add(points: readonly Point[]): boolean {
    if (this.started || this.promises.has(points)) return false;
    if (this.members.length > 0 && this.size + points.length > MERGED_POINTS_MAX) return false;
    const member = { points, offset: this.size } as Member;
    this.promises.set(
      points,
      new Promise<void>((resolve, reject) => {
        member.resolve = resolve;
        member.reject = reject;
      }),
    );
    this.members.push(member);
    this.size += points.length;
    return true;
  }

  /** The promise answering the caller of `points` (add returned true for them). */
  result(points: readonly Point[]): Promise<void> {
    return this.promises.get(points)!;
  }

  /** Writes every member's points as one batch with `write` (which returns the refused, by index into the batch). */
  async settle(write: (points: readonly Point[]) => Promise<RefusedPoint[]>): Promise<void> {
    this.started = true;
    const all = this.members.length === 1 ? this.members[0]!.points : this.members.flatMap((m) => m.points);
    let refused: RefusedPoint[];
    try {
      refused = await write(all);
    } catch (err) {
      for (const m of this.members) m.reject(err);
      return;
    }
    let r = 0;
    for (const m of this.members) {
      const own: RefusedPoint[] = [];
      const end = m.offset + m.points.length;
      while (r < refused.length && refused[r]!.index < end) {
        own.push({ index: refused[r]!.index - m.offset, reason: refused[r]!.reason });
        r++;
      }
      if (own.length === 0) m.resolve();
      else m.reject(refusedPointsError('embedded', m.points.length, own));
    }
  }
}
