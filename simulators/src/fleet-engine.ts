import type { DeviceAck } from '@poste/protocol';
import type { DeviceSpec } from './scenario';
import { SimAp, SimLuminaire, type DeviceOutput, type SimDevice, type SimFault } from './sim-devices';
import type { FleetEngineSnapshot, ProducedCounts } from './snapshot';

export interface FleetEngineOptions {
  devices: readonly DeviceSpec[];
  /** Sim instant the fleet starts at, ms since epoch. */
  startMs: number;
  /** Integration step, sim seconds (default 10). */
  stepS?: number;
  /** Telemetry period per device, sim seconds (default 60); devices are staggered across it. */
  reportIntervalS?: number;
}

/** Called for every output in order; the MQTT fleet publishes them, tests collect them. */
export type OutputSink = (device: SimDevice, output: DeviceOutput) => void;

export interface DeviceEnergyTruth {
  device: string;
  gateway: string;
  municipality: string;
  group: string;
  /** Wh consumed since the simulation started (exact integral). */
  exactWh: number;
  /** Wh consumed between the first and the last published reading: what a store can measure. */
  exactWhBetweenReports: number;
  /** Last reported counter minus first reported counter (wrong when the counter reset). */
  counterDeltaWh: number;
  /** What a correct store computes from the published readings (positive deltas, resets from 0). */
  measuredWh: number;
  counterResets: number;
  reports: number;
  firstReportTs: number | undefined;
  lastReportTs: number | undefined;
  /** h lit since the simulation started. */
  operatingHours: number;
  /** h lit between the first and the last published reading (exact), what the retrofit baseline counts. */
  litHoursBetweenReports: number;
  /** W of the sodium lamp + ballast it replaced. */
  baselineLampW: number;
  /** Wh the replaced lamp would have used over those hours: baselineLampW × litHoursBetweenReports. */
  baselineWhBetweenReports: number;
}

/**
 * What one AP's published readings let a correct store measure: the reset-aware deltas of its
 * counters (the first reading contributes nothing), next to what it really carried.
 */
export interface ApTruth {
  device: string;
  gateway: string;
  municipality: string;
  reports: number;
  /** bytes per class from the reported (floored) counters: a store must hold exactly these */
  bytes: { household: number; telemedicine: number; public: number };
  /** telemedicine sessions counted by the reported counters */
  sessions: number;
  reserveMeasuredS: number;
  reserveHonouredS: number;
  /** sessions the AP ever started, bytes it ever carried (including before its first and after its last reading) */
  sessionsStartedTotal: number;
  exactBytes: { household: number; telemedicine: number; public: number };
}

export interface WifiTotals {
  bytes: { household: number; telemedicine: number; public: number };
  sessions: number;
  reserveMeasuredS: number;
  reserveHonouredS: number;
}

export interface EnergyTotals {
  exactWh: number;
  exactWhBetweenReports: number;
  counterDeltaWh: number;
  measuredWh: number;
  /** Σ baselineWhBetweenReports: the retrofit baseline over the same spans */
  baselineWhBetweenReports: number;
}

export interface GroundTruth {
  atMs: number;
  devices: DeviceEnergyTruth[];
  total: EnergyTotals;
  byGateway: Record<string, EnergyTotals>;
  byMunicipality: Record<string, EnergyTotals>;
  aps: ApTruth[];
  wifi: WifiTotals;
}

function zeroTotals(): EnergyTotals {
  return { exactWh: 0, exactWhBetweenReports: 0, counterDeltaWh: 0, measuredWh: 0, baselineWhBetweenReports: 0 };
}

function addTo(t: EnergyTotals, d: DeviceEnergyTruth): void {
  t.exactWh += d.exactWh;
  t.exactWhBetweenReports += d.exactWhBetweenReports;
  t.counterDeltaWh += d.counterDeltaWh;
  t.measuredWh += d.measuredWh;
  t.baselineWhBetweenReports += d.baselineWhBetweenReports;
}

function apTruth(d: SimAp): ApTruth {
  const l = d.ledger;
  return {
    device: d.spec.id,
    gateway: d.spec.gateway,
    municipality: d.spec.municipality,
    reports: l.reports,
    bytes: { ...l.bytes },
    sessions: l.sessions,
    reserveMeasuredS: l.measuredS,
    reserveHonouredS: l.honouredS,
    sessionsStartedTotal: d.model.sessions.startedTotal,
    exactBytes: { ...d.model.groundTruthBytes },
  };
}

/**
 * All simulated devices of a fleet, stepped together in fixed sim-time steps (one loop, no timer
 * per device). Fixed steps make the output a pure function of (specs, seed, start, faults and
 * commands at given steps), whatever the real-time jitter of whoever drives it. No I/O.
 */
export class FleetEngine {
  readonly startMs: number;
  readonly stepMs: number;
  readonly reportMs: number;
  /** Sim time all devices have been advanced to. */
  nowMs: number;
  /** Readings and events emitted so far, by measurement as the store names them (ground truth). */
  readonly produced: ProducedCounts = { luminaire: 0, ap: 0, event: 0 };
  private readonly list: SimDevice[] = [];
  private readonly byId = new Map<string, SimDevice>();
  private readonly sink: OutputSink;

  constructor(options: FleetEngineOptions, sink: OutputSink = () => {}) {
    this.startMs = options.startMs;
    this.nowMs = options.startMs;
    this.stepMs = Math.round((options.stepS ?? 10) * 1000);
    this.reportMs = Math.round((options.reportIntervalS ?? 60) * 1000);
    if (this.stepMs <= 0 || this.reportMs <= 0) throw new Error('FleetEngine: step and report interval must be > 0');
    this.sink = sink;
    const slots = Math.max(1, Math.floor(this.reportMs / this.stepMs));
    options.devices.forEach((spec, i) => {
      if (this.byId.has(spec.id)) throw new Error(`FleetEngine: duplicate device ${spec.id}`);
      // Stagger first reports over the interval (on step boundaries) so devices don't all speak at once.
      const firstReport = this.startMs + this.stepMs * (1 + (i % slots));
      const d = spec.kind === 'luminaire' ? new SimLuminaire(spec, this.startMs, firstReport) : new SimAp(spec, this.startMs, firstReport);
      this.list.push(d);
      this.byId.set(spec.id, d);
    });
  }

  get devices(): readonly SimDevice[] {
    return this.list;
  }

  device(id: string): SimDevice {
    const d = this.byId.get(id);
    if (!d) throw new Error(`unknown device ${id}`);
    return d;
  }

  luminaire(id: string): SimLuminaire {
    const d = this.device(id);
    if (!(d instanceof SimLuminaire)) throw new Error(`${id} is not a luminaire`);
    return d;
  }

  ap(id: string): SimAp {
    const d = this.device(id);
    if (!(d instanceof SimAp)) throw new Error(`${id} is not an AP`);
    return d;
  }

  /** Every device's state, the time and the output counts: restore() on a fresh engine continues from here. */
  snapshot(): FleetEngineSnapshot {
    const devices: FleetEngineSnapshot['devices'] = {};
    for (const d of this.list) devices[d.spec.id] = d.snapshot();
    return { nowMs: this.nowMs, produced: { ...this.produced }, devices };
  }

  /**
   * Continues from a snapshot of an engine built from the same devices. Every device must be in
   * it, with the same kind: a scenario that changed since cannot continue consistently.
   */
  restore(s: FleetEngineSnapshot): void {
    for (const d of this.list) {
      const ds = s.devices[d.spec.id];
      if (!ds) throw new Error(`FleetEngine.restore: device ${d.spec.id} is not in the snapshot (the scenario changed?)`);
      if (ds.kind !== d.spec.kind)
        throw new Error(`FleetEngine.restore: ${d.spec.id} is a ${d.spec.kind} but the snapshot has a ${ds.kind}`);
    }
    const unknown = Object.keys(s.devices).filter((id) => !this.byId.has(id));
    if (unknown.length)
      throw new Error(`FleetEngine.restore: the snapshot has devices this fleet lacks: ${unknown.slice(0, 5).join(', ')}`);
    for (const d of this.list) {
      const ds = s.devices[d.spec.id]!;
      if (d instanceof SimLuminaire && ds.kind === 'luminaire') d.restore(ds);
      else if (d instanceof SimAp && ds.kind === 'ap') d.restore(ds);
    }
    this.nowMs = s.nowMs;
    Object.assign(this.produced, s.produced);
  }

  /** One fixed step for every device; readings due at the new instant are emitted. */
  step(): void {
    const out: DeviceOutput[] = [];
    const t = this.nowMs + this.stepMs;
    for (const d of this.list) {
      d.step(this.stepMs);
      if (t >= d.nextReport.at) {
        while (d.nextReport.at <= t) d.nextReport.at += this.reportMs;
        d.report(out);
        this.flush(d, out);
      }
    }
    this.nowMs = t;
  }

  /** Steps until the next step would pass `t`; returns the number of steps taken (≤ maxSteps). */
  stepTo(t: number, maxSteps = Number.POSITIVE_INFINITY): number {
    let n = 0;
    while (this.nowMs + this.stepMs <= t && n < maxSteps) {
      this.step();
      n++;
    }
    return n;
  }

  /** Applies a command (raw JSON value); returns the ack to send, or null when it has no id. */
  handleCommand(deviceId: string, raw: unknown, atMs = this.nowMs): DeviceAck | null {
    const d = this.device(deviceId);
    const r = d.handleCommand(raw, atMs);
    for (const o of r.outputs) this.sink(d, o);
    return r.ack;
  }

  injectFault(deviceId: string, fault: SimFault): void {
    const d = this.device(deviceId);
    const out: DeviceOutput[] = [];
    d.injectFault(fault, out);
    this.flush(d, out);
  }

  clearFault(deviceId: string, fault: SimFault): void {
    const d = this.device(deviceId);
    const out: DeviceOutput[] = [];
    d.clearFault(fault, out);
    this.flush(d, out);
  }

  private flush(d: SimDevice, out: DeviceOutput[]): void {
    for (const o of out) {
      if (o.type === 'telemetry') this.produced[o.payload.kind]++;
      else if (o.type === 'event') this.produced.event++;
      this.sink(d, o);
    }
    out.length = 0;
  }

  /** Exact energy per luminaire and in total, next to what the published readings let one measure. */
  groundTruth(): GroundTruth {
    const gt: GroundTruth = {
      atMs: this.nowMs,
      devices: [],
      total: zeroTotals(),
      byGateway: {},
      byMunicipality: {},
      aps: [],
      wifi: { bytes: { household: 0, telemedicine: 0, public: 0 }, sessions: 0, reserveMeasuredS: 0, reserveHonouredS: 0 },
    };
    for (const d of this.list) {
      if (d instanceof SimAp) {
        const a = apTruth(d);
        gt.aps.push(a);
        for (const c of ['household', 'telemedicine', 'public'] as const) gt.wifi.bytes[c] += a.bytes[c];
        gt.wifi.sessions += a.sessions;
        gt.wifi.reserveMeasuredS += a.reserveMeasuredS;
        gt.wifi.reserveHonouredS += a.reserveHonouredS;
        continue;
      }
      const l = d.ledger;
      const litHours = (l.lastOperatingH ?? 0) - (l.firstOperatingH ?? 0);
      const truth: DeviceEnergyTruth = {
        device: d.spec.id,
        gateway: d.spec.gateway,
        municipality: d.spec.municipality,
        group: d.spec.group,
        exactWh: d.model.groundTruthWh,
        exactWhBetweenReports: l.lastTruthWh - l.firstTruthWh,
        counterDeltaWh: l.lastCounterWh - l.firstCounterWh,
        measuredWh: l.measuredWh,
        counterResets: l.counterResets,
        reports: l.reports,
        firstReportTs: l.firstTs,
        lastReportTs: l.lastTs,
        operatingHours: d.model.operatingHours,
        litHoursBetweenReports: litHours,
        baselineLampW: d.spec.baselineLampW,
        baselineWhBetweenReports: d.spec.baselineLampW * litHours,
      };
      gt.devices.push(truth);
      addTo(gt.total, truth);
      gt.byGateway[truth.gateway] ??= zeroTotals();
      addTo(gt.byGateway[truth.gateway]!, truth);
      gt.byMunicipality[truth.municipality] ??= zeroTotals();
      addTo(gt.byMunicipality[truth.municipality]!, truth);
    }
    return gt;
  }
}
