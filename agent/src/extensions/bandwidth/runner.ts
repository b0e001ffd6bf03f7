// The bandwidth extension's loop: AP readings in, per-AP demand estimates, a tick that runs
// allocateBandwidth for every AP and sends the plans that changed as `bandwidthPlan` commands
// through the AP's adapter. A plan counts as in force only once the AP acks it `done`; a refused,
// failed or unanswered one is retried on a later tick. An AP that rebooted (uptime went down) lost
// its qdiscs, so its plan is sent again.
import type { Logger } from 'pino';
import type { ApBandwidthPlan, ApReading, Clock, LocalTelemetry } from '@poste/protocol';
import type { DeviceRecord } from '../../core/device-registry';
import type { TimerHandle, Timers } from '../../core/timers';
import type { AgentHost } from '../types';
import { estimateDemand, planChanged, planFor, servedBetween, type ApPolicy, type ClassKbps } from './plan';

export interface BandwidthSettings {
  /** Timer ms between ticks. */
  tickIntervalMs: number;
  /** Share of an AP's capacity the household keeps when no per-AP policy is given. */
  householdReserveShare: number;
  /** Share of an AP's capacity ceded to telemedicine + public when no per-AP policy is given. */
  publicShare: number;
  /** Per AP (device id): the household's own reserve and ceded share, kbit/s. */
  aps: Record<string, { householdReserveKbps: number; publicCapKbps: number }>;
  /** A new plan is sent when a rate moved by more than this share of capacity. */
  changeTolerance: number;
  /** Demand = served × headroom (+ floor with clients). */
  headroom: number;
  floorKbps: number;
  /** Plans awaiting their ack at most. */
  maxInFlight: number;
}

export interface BandwidthStats {
  aps: number;
  ticks: number;
  sent: number;
  done: number;
  rejected: number;
  failed: number;
  inFlight: number;
}

/** What the runner needs from the agent (a subset of AgentHost). */
export type RunnerHost = Pick<AgentHost, 'onTelemetry' | 'onDeviceState' | 'commandDevice' | 'appliedConfig'>;

interface ApState {
  last: ApReading | null;
  demand: ClassKbps | null;
  /** The plan the AP acked, null before one / after a reboot. */
  inForce: ApBandwidthPlan | null;
  inFlight: boolean;
}

export class BandwidthRunner {
  readonly #host: RunnerHost;
  readonly #s: BandwidthSettings;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #aps = new Map<string, ApState>();
  readonly #stats = { ticks: 0, sent: 0, done: 0, rejected: 0, failed: 0 };
  #inFlight = 0;
  #timer: TimerHandle | null = null;
  #stopped = false;
  readonly #off: (() => void)[] = [];

  constructor(host: RunnerHost, settings: BandwidthSettings, deps: { clock: Clock; timers: Timers; logger: Logger }) {
    this.#host = host;
    this.#s = settings;
    this.#timers = deps.timers;
    this.#log = deps.logger;
    this.#off.push(host.onTelemetry((r) => this.#reading(r)));
    this.#off.push(host.onDeviceState((d) => this.#state(d)));
    this.#schedule();
  }

  /** One tick now: a plan for every AP with a demand estimate, sent where it changed. */
  tickNow(): void {
    this.#stats.ticks++;
    for (const [device, ap] of this.#aps) {
      if (ap.demand === null || ap.last === null || ap.inFlight) continue;
      if (this.#inFlight >= this.#s.maxInFlight) break;
      const plan = planFor(this.#policy(device, ap.last.capacityKbps), ap.demand);
      if (!planChanged(ap.inForce, plan, this.#s.changeTolerance)) continue;
      this.#send(device, ap, plan);
    }
  }

  stats(): BandwidthStats {
    return { aps: this.#aps.size, ...this.#stats, inFlight: this.#inFlight };
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    for (const off of this.#off.splice(0)) off();
  }

  #schedule(): void {
    this.#timer = this.#timers.setTimeout(() => {
      if (this.#stopped) return;
      this.tickNow();
      this.#schedule();
    }, this.#s.tickIntervalMs);
  }

  /**
   * Who decides an AP's split, most specific first: the desired config's `bandwidth.aps` (the
   * households' enrolments, published by the dashboard), then this agent's own settings, then the
   * default shares of the reported capacity.
   */
  #policy(device: string, capacityKbps: number): ApPolicy {
    const desired = this.#host.appliedConfig().config.bandwidth?.aps[device];
    const own = this.#s.aps[device];
    return {
      capacityKbps,
      householdReserveKbps: desired?.householdReserveKbps ?? own?.householdReserveKbps ?? capacityKbps * this.#s.householdReserveShare,
      publicCapKbps: desired?.publicCapKbps ?? own?.publicCapKbps ?? capacityKbps * this.#s.publicShare,
    };
  }

  #reading(t: LocalTelemetry): void {
    if (t.kind !== 'ap') return;
    const { kind: _kind, ...r } = t;
    let ap = this.#aps.get(r.device);
    if (ap === undefined) {
      ap = { last: null, demand: null, inForce: null, inFlight: false };
      this.#aps.set(r.device, ap);
    }
    // A reboot loses the AP's qdiscs: whatever was in force is gone.
    if (ap.last !== null && r.uptime < ap.last.uptime) ap.inForce = null;
    const served = ap.last === null ? null : servedBetween(ap.last, r);
    if (served !== null) ap.demand = estimateDemand(served, r.clients, r.capacityKbps, this.#s.headroom, this.#s.floorKbps);
    ap.last = r;
  }

  #state(d: DeviceRecord): void {
    if (d.kind !== 'ap') return;
    const ap = this.#aps.get(d.id);
    // An AP that went away and came back may have lost its plan: send it again on the next tick.
    if (ap !== undefined && d.status === 'offline') ap.inForce = null;
  }

  #send(device: string, ap: ApState, plan: ApBandwidthPlan): void {
    ap.inFlight = true;
    this.#inFlight++;
    this.#stats.sent++;
    void this.#host.commandDevice(device, { action: 'bandwidthPlan', plan }).then((ack) => {
      ap.inFlight = false;
      this.#inFlight--;
      if (ack.outcome === 'done') {
        this.#stats.done++;
        ap.inForce = plan;
        return;
      }
      if (ack.outcome === 'rejected') this.#stats.rejected++;
      else this.#stats.failed++;
      this.#log.warn({ device, outcome: ack.outcome, detail: ack.detail }, 'bandwidth plan not applied; retried on a later tick');
    });
  }
}
