import type { Prng } from './prng';

/** One simulated telemedicine consultation through an AP's telemedicine class. */
export interface TelemedicineSession {
  /** counts from 1 per AP, never reused (ground truth across reboots) */
  id: number;
  startMs: number;
  /** when it ends (planned), or ended (cut short by a reboot) */
  endMs: number;
  /** what the video call asks for, kbit/s */
  kbps: number;
  /** bytes it was served (float inside; the AP's class counter is floored when reported) */
  bytes: number;
}

export interface TelemedicineSessionsSnapshot {
  active: TelemedicineSession[];
  recent: TelemedicineSession[];
  startedSinceBoot: number;
  startedTotal: number;
  nextId: number;
}

/** How many ended sessions an AP keeps for inspection (tests, the city's ground truth): bounded. */
export const RECENT_SESSIONS = 32;

/** Mean consult length: arrivals per hour = concurrent sessions wanted / this (Little's law). */
const MEAN_SESSION_H = 20 / 60;

/**
 * Telemedicine as sessions rather than a smooth curve: consultations start at random (a Poisson
 * process whose rate follows clinic hours, `share` of the peak), last 10–30 minutes and ask for a
 * video call's bitrate each. The class's demand is the sum over open sessions; what the AP serves
 * the class is shared among them in proportion to what each asks, so a session's bytes add up to
 * the class's byte counter. A reboot cuts the open sessions and restarts the since-boot count.
 */
export class TelemedicineSessions {
  active: TelemedicineSession[] = [];
  /** ended sessions, oldest first, at most RECENT_SESSIONS */
  recent: TelemedicineSession[] = [];
  /** started since the AP booted: what the AP reports (reset by a reboot) */
  startedSinceBoot = 0;
  /** started since the model was created (ground truth) */
  startedTotal = 0;
  private nextId = 1;

  constructor(
    /** concurrent sessions at the peak of clinic hours */
    readonly peakConcurrent: number,
    /** mean bitrate of one session, kbit/s */
    readonly sessionKbps: number,
  ) {}

  /** Ends the sessions due by `nowMs`, then draws the arrivals of the coming step of `dtMs`. */
  step(nowMs: number, dtMs: number, share: number, rng: Prng): void {
    this.endDue(nowMs);
    const perHour = (this.peakConcurrent * share) / MEAN_SESSION_H;
    const p = Math.min(1, (perHour * dtMs) / 3_600_000);
    if (this.peakConcurrent > 0 && rng.next() < p) {
      const minutes = rng.range(10, 30);
      this.active.push({
        id: this.nextId++,
        startMs: nowMs,
        endMs: nowMs + Math.round(minutes * 60_000),
        kbps: this.sessionKbps * rng.range(0.8, 1.2),
        bytes: 0,
      });
      this.startedSinceBoot++;
      this.startedTotal++;
    }
  }

  demandKbps(): number {
    let sum = 0;
    for (const s of this.active) sum += s.kbps;
    return sum;
  }

  /** Shares what the class was served over `dtMs` among the open sessions, by what each asks. */
  credit(servedKbps: number, dtMs: number): void {
    const want = this.demandKbps();
    if (want <= 0 || servedKbps <= 0) return;
    const bytes = (servedKbps * 1000 * (dtMs / 1000)) / 8;
    for (const s of this.active) s.bytes += (bytes * s.kbps) / want;
  }

  /** The AP went down at `nowMs`: open sessions end there; the since-boot count restarts on boot. */
  cut(nowMs: number): void {
    for (const s of this.active) this.retire({ ...s, endMs: nowMs });
    this.active = [];
  }

  rebooted(): void {
    this.startedSinceBoot = 0;
  }

  snapshot(): TelemedicineSessionsSnapshot {
    return {
      active: this.active.map((s) => ({ ...s })),
      recent: this.recent.map((s) => ({ ...s })),
      startedSinceBoot: this.startedSinceBoot,
      startedTotal: this.startedTotal,
      nextId: this.nextId,
    };
  }

  restore(s: TelemedicineSessionsSnapshot): void {
    this.active = s.active.map((x) => ({ ...x }));
    this.recent = s.recent.map((x) => ({ ...x }));
    this.startedSinceBoot = s.startedSinceBoot;
    this.startedTotal = s.startedTotal;
    this.nextId = s.nextId;
  }

  private endDue(nowMs: number): void {
    if (!this.active.some((s) => s.endMs <= nowMs)) return;
    const still: TelemedicineSession[] = [];
    for (const s of this.active) {
      if (s.endMs <= nowMs) this.retire(s);
      else still.push(s);
    }
    this.active = still;
  }

  private retire(s: TelemedicineSession): void {
    this.recent.push(s);
    if (this.recent.length > RECENT_SESSIONS) this.recent.splice(0, this.recent.length - RECENT_SESSIONS);
  }
}
