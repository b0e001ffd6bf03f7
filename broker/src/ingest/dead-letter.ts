import type { Counter } from 'prom-client';

export type DeadLetterReason =
  | 'invalid-json'
  | 'invalid-envelope'
  | 'invalid-item'
  | 'unknown-gateway'
  | 'store-rejected'
  | 'spool-unreadable'
  /** JSON bounds, checked before parsing (protocol json-bounds.ts) */
  | 'too-deep'
  | 'too-large'
  /** plausibility (protocol plausibility.ts): a value out of its bounds, a counter rising too fast, a timestamp */
  | 'implausible-value'
  | 'implausible-step'
  | 'future-timestamp'
  | 'before-birth'
  /** device announcements refused: invalid, over the gateway's fleet cap, or the inventory puts the device elsewhere */
  | 'invalid-device-state'
  | 'fleet-cap'
  | 'device-assigned-elsewhere'
  /** a bug: a message validation could not judge; acknowledged so the sender does not resend it forever */
  | 'internal-error';

export interface DeadLetterSample {
  reason: DeadLetterReason;
  topic: string;
  gateway: string;
  /** where in the payload, e.g. readings[3].dimLevel ('' for the whole message) */
  path: string;
  detail: string;
  /** start of the offending payload/item, truncated */
  excerpt: string;
  at: number;
}

const EXCERPT_CHARS = 300;

/**
 * Dead letters: a counter per reason (prom-client) and the last few samples in memory, so an
 * operator can see what was refused and why without grepping logs.
 */
export class DeadLetters {
  readonly byReason: Partial<Record<DeadLetterReason, number>> = {};
  private readonly ring: DeadLetterSample[] = [];

  constructor(
    private readonly counter: Counter<'reason'>,
    private readonly maxSamples = 20,
  ) {}

  add(sample: Omit<DeadLetterSample, 'at' | 'excerpt'> & { excerpt: unknown }, count = 1): void {
    this.byReason[sample.reason] = (this.byReason[sample.reason] ?? 0) + count;
    this.counter.inc({ reason: sample.reason }, count);
    this.ring.push({ ...sample, excerpt: excerptOf(sample.excerpt), at: Date.now() });
    if (this.ring.length > this.maxSamples) this.ring.shift();
  }

  samples(): DeadLetterSample[] {
    return [...this.ring];
  }
}

function excerptOf(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (Buffer.isBuffer(v)) s = v.subarray(0, EXCERPT_CHARS * 4).toString('utf8');
  else {
    // JSON.stringify and String() both recurse: a hostile item (nested 200,000 deep) must not
    // overflow the stack here, in the path meant to report it.
    try {
      s = JSON.stringify(v) ?? typeof v;
    } catch (err) {
      s = `(unprintable ${typeof v}: ${err instanceof Error ? err.message : 'error'})`;
    }
  }
  return s.length > EXCERPT_CHARS ? `${s.slice(0, EXCERPT_CHARS)}…` : s;
}
