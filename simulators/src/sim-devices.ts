import type { DeviceAck, DeviceCommand, DeviceEvent, DeviceState, EventType, LocalTelemetry } from '@poste/protocol';
import { DeviceCommandSchema } from '@poste/protocol';
import { ApModel } from './ap-model';
import { LuminaireController } from './local-program';
import { DEFAULT_STANDBY_W, LuminaireModel, type LuminaireFault } from './luminaire-model';
import { mulberry32, type Prng } from './prng';
import type { ApSpec, DeviceSpec, LuminaireSpec } from './scenario';
import type { ApReportLedger, ApSnapshot, LuminaireSnapshot } from './snapshot';

/** Faults injectable at runtime. `counterReset` is one-shot (a controller reboot). */
export type SimFault = LuminaireFault | 'counterReset' | 'apDown';

/** What a device asks its transport to do; the engine stays free of I/O. */
export type DeviceOutput =
  | { type: 'telemetry'; payload: LocalTelemetry }
  | { type: 'event'; payload: DeviceEvent }
  /** Power lost: the connection dies abruptly (the will fires). */
  | { type: 'powerLost' }
  /** Power back: reconnect and publish a new birth. */
  | { type: 'powerRestored' }
  | { type: 'rebirth' };

/** Energy bookkeeping of one luminaire's reports, kept the way a correct store would compute it. */
export interface ReportLedger {
  reports: number;
  firstTs: number | undefined;
  lastTs: number | undefined;
  firstTruthWh: number;
  lastTruthWh: number;
  firstCounterWh: number;
  lastCounterWh: number;
  /** Sum of positive counter deltas, a drop counting from zero (docs/architecture.md, energy and savings). */
  measuredWh: number;
  counterResets: number;
  /** The model's exact lit hours at the first and at the last report (the retrofit baseline's hours). */
  firstOperatingH?: number;
  lastOperatingH?: number;
}

function emptyLedger(): ReportLedger {
  return {
    reports: 0,
    firstTs: undefined,
    lastTs: undefined,
    firstTruthWh: 0,
    lastTruthWh: 0,
    firstCounterWh: 0,
    lastCounterWh: 0,
    measuredWh: 0,
    counterResets: 0,
  };
}

function ack(id: string, outcome: DeviceAck['outcome'], ts: number, detail?: string): DeviceAck {
  return detail === undefined ? { v: 1, id, outcome, ts } : { v: 1, id, outcome, ts, detail };
}

/** Decodes a raw command: the valid command, or a rejection ack when it carries an id, or null. */
function parseCommand(raw: unknown, atMs: number) {
  const r = DeviceCommandSchema.safeParse(raw);
  if (r.success) return { command: r.data };
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) return { ack: null };
  const reason = r.error.issues[0]?.message ?? 'invalid command';
  return { ack: ack(id, 'rejected', Math.round(atMs), `invalid command: ${reason}`.slice(0, 500)) };
}

interface DeviceCommon {
  readonly spec: DeviceSpec;
  readonly nextReport: { at: number };
  readonly powered: boolean;
  step(dtMs: number): void;
  report(out: DeviceOutput[]): void;
  handleCommand(raw: unknown, atMs: number): { ack: DeviceAck | null; outputs: DeviceOutput[] };
  injectFault(f: SimFault, out: DeviceOutput[]): void;
  clearFault(f: SimFault, out: DeviceOutput[]): void;
  birth(seq: number, ts: number, status: 'online' | 'offline'): DeviceState;
}

/** What every simulated device does first with a command: parse it, refuse it once expired. */
function admitCommand(raw: unknown, atMs: number): { refused: DeviceAck | null } | { cmd: DeviceCommand; ts: number } {
  const ts = Math.round(atMs);
  const parsed = parseCommand(raw, atMs);
  if (!parsed.command) return { refused: parsed.ack };
  if (parsed.command.expiresAt < atMs) return { refused: ack(parsed.command.id, 'expired', ts) };
  return { cmd: parsed.command, ts };
}

export class SimLuminaire implements DeviceCommon {
  readonly spec: LuminaireSpec;
  readonly model: LuminaireModel;
  readonly controller: LuminaireController;
  readonly ledger: ReportLedger = emptyLedger();
  readonly nextReport: { at: number };
  private rng: Prng;

  constructor(spec: LuminaireSpec, startMs: number, firstReportMs: number) {
    this.spec = spec;
    this.rng = mulberry32(spec.seed);
    this.model = new LuminaireModel(
      { nominalPowerW: spec.nominalPowerW, standbyPowerW: DEFAULT_STANDBY_W, supplyVoltageV: spec.supplyVoltageV },
      startMs,
    );
    this.controller = new LuminaireController(spec.program);
    this.model.setDimLevel(this.controller.levelAt(startMs));
    this.nextReport = { at: firstReportMs };
  }

  snapshot(): LuminaireSnapshot {
    const o = this.controller.currentOverride();
    const l = this.ledger;
    return {
      kind: 'luminaire',
      model: this.model.snapshot(),
      override: o ? { level: o.level, until: o.until ?? null } : null,
      rng: this.rng.state(),
      ledger: { ...l, firstTs: l.firstTs ?? null, lastTs: l.lastTs ?? null },
      nextReportAt: this.nextReport.at,
    };
  }

  restore(s: LuminaireSnapshot): void {
    this.model.restore(s.model);
    if (s.override) this.controller.setOverride(s.override.level, s.override.until ?? undefined);
    else this.controller.clearOverride();
    this.rng = mulberry32(s.rng);
    Object.assign(this.ledger, s.ledger, { firstTs: s.ledger.firstTs ?? undefined, lastTs: s.ledger.lastTs ?? undefined });
    this.nextReport.at = s.nextReportAt;
  }

  get powered(): boolean {
    return !this.model.hasFault('supplyLoss');
  }

  step(dtMs: number): void {
    // The level is decided at the start of the step and held through it (power constant).
    this.model.setDimLevel(this.controller.levelAt(this.model.nowMs));
    this.model.advance(dtMs);
  }

  report(out: DeviceOutput[]): void {
    const r = this.model.reading(this.spec.id, this.rng);
    if (!r) return;
    const l = this.ledger;
    if (l.reports === 0) {
      l.firstTs = r.ts;
      l.firstTruthWh = this.model.groundTruthWh;
      l.firstCounterWh = r.activeEnergy;
      l.firstOperatingH = this.model.operatingHours;
    } else if (r.activeEnergy >= l.lastCounterWh) {
      l.measuredWh += r.activeEnergy - l.lastCounterWh;
    } else {
      l.measuredWh += r.activeEnergy;
      l.counterResets++;
    }
    l.reports++;
    l.lastTs = r.ts;
    l.lastTruthWh = this.model.groundTruthWh;
    l.lastCounterWh = r.activeEnergy;
    // A ledger from a checkpoint written before lit hours were kept starts counting them here.
    l.firstOperatingH ??= this.model.operatingHours;
    l.lastOperatingH = this.model.operatingHours;
    out.push({ type: 'telemetry', payload: { ...r, kind: 'luminaire' } });
  }

  handleCommand(raw: unknown, atMs: number): { ack: DeviceAck | null; outputs: DeviceOutput[] } {
    const admitted = admitCommand(raw, atMs);
    if ('refused' in admitted) return { ack: admitted.refused, outputs: [] };
    const { cmd, ts } = admitted;
    if (!this.powered) return { ack: ack(cmd.id, 'failed', ts, 'no supply'), outputs: [] };
    switch (cmd.action) {
      case 'dim':
        if (cmd.until !== undefined && cmd.until <= atMs) {
          return { ack: ack(cmd.id, 'expired', ts, 'override until already passed'), outputs: [] };
        }
        if (this.model.hasFault('driverFailure')) return { ack: ack(cmd.id, 'failed', ts, 'driver not responding'), outputs: [] };
        this.controller.setOverride(cmd.level, cmd.until);
        return { ack: ack(cmd.id, 'done', ts), outputs: [] };
      case 'clearOverride':
        this.controller.clearOverride();
        return { ack: ack(cmd.id, 'done', ts), outputs: [] };
      case 'identify':
        // Blinking for identification is not modelled in energy (seconds at most).
        return { ack: ack(cmd.id, 'done', ts), outputs: [] };
      case 'rebirth':
        return { ack: ack(cmd.id, 'done', ts), outputs: [{ type: 'rebirth' }] };
      case 'bandwidthPlan':
        return { ack: ack(cmd.id, 'rejected', ts, 'bandwidthPlan: not an access point'), outputs: [] };
    }
  }

  injectFault(f: SimFault, out: DeviceOutput[]): void {
    if (f === 'apDown') throw new Error(`${this.spec.id}: apDown is an AP fault`);
    if (f === 'counterReset') {
      this.model.resetEnergyCounter();
      return;
    }
    const wasPowered = this.powered;
    if (!this.model.injectFault(f)) return;
    if (f === 'supplyLoss') {
      if (wasPowered) out.push({ type: 'powerLost' });
      return;
    }
    if (this.powered) out.push({ type: 'event', payload: this.event(f, true) });
  }

  clearFault(f: SimFault, out: DeviceOutput[]): void {
    if (f === 'apDown' || f === 'counterReset') return;
    if (!this.model.clearFault(f)) return;
    if (f === 'supplyLoss') {
      out.push({ type: 'powerRestored' });
      out.push({ type: 'event', payload: this.event('supplyLoss', false, 'supply restored') });
      return;
    }
    if (this.powered) out.push({ type: 'event', payload: this.event(f, false) });
  }

  private event(type: EventType, active: boolean, detail?: string): DeviceEvent {
    const e: DeviceEvent = { device: this.spec.id, ts: Math.round(this.model.nowMs), type, active };
    if (detail !== undefined) e.detail = detail;
    return e;
  }

  birth(seq: number, ts: number, status: 'online' | 'offline'): DeviceState {
    return {
      v: 1,
      kind: 'luminaire',
      status,
      seq,
      ts: Math.round(ts),
      model: this.spec.model,
      firmware: this.spec.firmware,
      group: this.spec.group,
      nominalPowerW: this.spec.nominalPowerW,
    };
  }
}

/** A counter's rise between two reports as a store counts it: a drop is a reset, counting from zero. */
const rise = (prev: number, cur: number) => (cur >= prev ? cur - prev : cur);

function emptyApLedger(): ApReportLedger {
  return { reports: 0, last: null, bytes: { household: 0, telemedicine: 0, public: 0 }, sessions: 0, measuredS: 0, honouredS: 0 };
}

export class SimAp implements DeviceCommon {
  readonly spec: ApSpec;
  readonly model: ApModel;
  readonly nextReport: { at: number };
  reports = 0;
  /** What this AP's reports let a correct store measure (its ground truth for Wi-Fi accounting). */
  ledger: ApReportLedger = emptyApLedger();

  constructor(spec: ApSpec, startMs: number, firstReportMs: number) {
    this.spec = spec;
    this.model = new ApModel(spec, startMs, mulberry32(spec.seed));
    this.nextReport = { at: firstReportMs };
  }

  snapshot(): ApSnapshot {
    return {
      kind: 'ap',
      model: this.model.snapshot(),
      reports: this.reports,
      nextReportAt: this.nextReport.at,
      ledger: structuredClone(this.ledger),
    };
  }

  restore(s: ApSnapshot): void {
    this.model.restore(s.model);
    this.reports = s.reports;
    this.nextReport.at = s.nextReportAt;
    this.ledger = s.ledger ? structuredClone(s.ledger) : emptyApLedger();
  }

  get powered(): boolean {
    return !this.model.down;
  }

  step(dtMs: number): void {
    this.model.advance(dtMs);
  }

  report(out: DeviceOutput[]): void {
    const r = this.model.reading(this.spec.id);
    if (!r) return;
    this.reports++;
    const co = r.coproduction;
    const now = {
      bytes: { ...r.bytes },
      sessions: co?.telemedicineSessions ?? 0,
      measuredS: co?.reserveMeasuredS ?? 0,
      honouredS: co?.reserveHonouredS ?? 0,
    };
    const l = this.ledger;
    if (l.last) {
      for (const c of ['household', 'telemedicine', 'public'] as const) l.bytes[c] += rise(l.last.bytes[c], now.bytes[c]);
      l.sessions += rise(l.last.sessions, now.sessions);
      l.measuredS += rise(l.last.measuredS, now.measuredS);
      l.honouredS += rise(l.last.honouredS, now.honouredS);
    }
    l.last = now;
    l.reports++;
    out.push({ type: 'telemetry', payload: { ...r, kind: 'ap' } });
  }

  handleCommand(raw: unknown, atMs: number): { ack: DeviceAck | null; outputs: DeviceOutput[] } {
    const admitted = admitCommand(raw, atMs);
    if ('refused' in admitted) return { ack: admitted.refused, outputs: [] };
    const { cmd, ts } = admitted;
    switch (cmd.action) {
      case 'dim':
      case 'clearOverride':
        return { ack: ack(cmd.id, 'rejected', ts, `${cmd.action}: not a luminaire`), outputs: [] };
      case 'identify':
        return { ack: ack(cmd.id, 'done', ts), outputs: [] };
      case 'rebirth':
        return { ack: ack(cmd.id, 'done', ts), outputs: [{ type: 'rebirth' }] };
      case 'bandwidthPlan': {
        // The AP obeys the plan the agent computed; it allocates nothing itself.
        const refused = this.model.applyPlan(cmd.plan);
        return { ack: refused === null ? ack(cmd.id, 'done', ts) : ack(cmd.id, 'rejected', ts, refused), outputs: [] };
      }
    }
  }

  injectFault(f: SimFault, out: DeviceOutput[]): void {
    if (f !== 'apDown') throw new Error(`${this.spec.id}: ${f} is not an AP fault`);
    if (this.model.injectFault(f)) out.push({ type: 'powerLost' });
  }

  clearFault(f: SimFault, out: DeviceOutput[]): void {
    if (f !== 'apDown' || !this.model.clearFault(f)) return;
    out.push({ type: 'powerRestored' });
    out.push({
      type: 'event',
      payload: { device: this.spec.id, ts: Math.round(this.model.nowMs), type: 'apDown', active: false, detail: 'rebooted' },
    });
  }

  birth(seq: number, ts: number, status: 'online' | 'offline'): DeviceState {
    return { v: 1, kind: 'ap', status, seq, ts: Math.round(ts), model: this.spec.model, firmware: this.spec.firmware };
  }
}

export type SimDevice = SimLuminaire | SimAp;
