// Connects the dimming engine (pure computation) to a running agent: luminaires from births, CLO
// hours from telemetry, the program from the applied desired config, sensor events to the engine's
// fast path, a periodic tick, and the resulting levels to devices as leased `dim` commands.
//
// Fail safe (docs/architecture.md, "Fail-safe: dimming leases"): every scheduler command is a
// `dim` with `until = now + leaseMs`. The controller holds that level until then and afterwards
// falls back to its own local program, so an agent that dies (or stops scheduling) leaves the street
// on the controller's program, never on a stale level. While the agent runs it renews each lease
// before it ends.
import { pino, type Logger } from 'pino';
import { systemClock, type Clock, type DeviceEvent, type LocalTelemetry, type PayloadError } from '@poste/protocol';
import type { DeviceRecord } from '../../core/device-registry';
import { systemTimers, type TimerHandle, type Timers } from '../../core/timers';
import { DimmingEngine, parseSchedulerConfig, type DimmingChanges, type SchedulerConfig } from '../../scheduler';
import type { AgentHost } from '../types';
import { LeaseDispatcher, type DispatchStats } from './lease-dispatcher';

/** What the runner needs from the agent (a subset of AgentHost, so tests can stand in for it). */
export type DimmingHost = Pick<
  AgentHost,
  'onDeviceState' | 'onDeviceEvent' | 'onTelemetry' | 'onConfigApplied' | 'schedulerConfig' | 'devices' | 'commandDevice'
>;

export interface DimmingOptions {
  clock?: Clock;
  timers?: Timers;
  logger?: Logger;
  /** Timer period of the whole-installation tick, in timer (real) ms. Default 1,000. */
  tickIntervalMs?: number;
  /** How long a device holds a scheduler level before falling back to its own program, clock ms. Default 15 min. */
  leaseMs?: number;
  /** Renew a lease this long before it ends, clock ms. Default a third of the lease. */
  refreshBeforeMs?: number;
  /** After a failed command, try again this much later, clock ms. Default 30 s. */
  retryAfterMs?: number;
  /** Commands awaiting their ack at most, so a city-wide step does not flood the LAN. Default 256. */
  maxInFlight?: number;
}

export interface DimmingStats extends DispatchStats {
  /** A valid scheduler section is in force. */
  active: boolean;
  luminaires: number;
  ticks: number;
  sensorEvents: number;
  /** motion/traffic events from devices no dynamic control lists */
  unknownSensorEvents: number;
  configErrors: number;
}

export interface DimmingRunner {
  readonly engine: DimmingEngine;
  /** Runs a whole-installation tick now (the timer does this every tickIntervalMs). */
  tickNow(): void;
  stats(): DimmingStats;
  /** Stops the timer and the listeners; devices keep their levels until the leases end. */
  stop(): void;
}

export const DEFAULT_DIMMING_LEASE_MS = 15 * 60_000;
export const DEFAULT_DIMMING_TICK_MS = 1_000;
export const DEFAULT_DIMMING_MAX_IN_FLIGHT = 256;

/** Ready-made `schedulerConfigValidator` for startAgent: a bad scheduler section is reported rejected with its path. */
export function schedulerConfigValidator(raw: unknown): PayloadError | null {
  const r = parseSchedulerConfig(raw);
  return r.ok ? null : r.error;
}

/** Luminaires whose birth names no group: the engine knows no program for them, so they are never commanded. */
const UNGROUPED = '\u0000ungrouped';

interface GroupTraits {
  lightingClass?: string;
  priority?: number;
}

export function attachDimming(host: DimmingHost, opts: DimmingOptions = {}): DimmingRunner {
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
  const log = opts.logger ?? pino({ level: 'info' });
  const tickIntervalMs = opts.tickIntervalMs ?? DEFAULT_DIMMING_TICK_MS;
  const leaseMs = opts.leaseMs ?? DEFAULT_DIMMING_LEASE_MS;
  const engine = new DimmingEngine(1024);
  const dispatch = new LeaseDispatcher(
    {
      clock,
      log,
      levelOf: (i) => engine.commandedLevel(i),
      idOf: (i) => engine.idOf(i),
      send: (id, action, expiresAt) => host.commandDevice(id, action, { expiresAt }),
    },
    {
      leaseMs,
      refreshBeforeMs: Math.min(opts.refreshBeforeMs ?? Math.floor(leaseMs / 3), leaseMs - 1),
      retryAfterMs: opts.retryAfterMs ?? 30_000,
      maxInFlight: opts.maxInFlight ?? DEFAULT_DIMMING_MAX_IN_FLIGHT,
    },
  );
  const counts = { ticks: 0, sensorEvents: 0, unknownSensorEvents: 0, configErrors: 0 };
  let active = false;
  let traits = new Map<string, GroupTraits>();
  // What re-registration needs when a config changes a group's class or priority.
  const births = new Map<string, { group: string; nominalW: number; hours: number }>();

  const registerLuminaire = (id: string): number => {
    const b = births.get(id);
    if (b === undefined) return -1;
    const t = traits.get(b.group);
    const i = engine.register({
      id,
      group: b.group,
      nominalW: b.nominalW,
      operatingHours: b.hours,
      ...(t?.lightingClass !== undefined && { lightingClass: t.lightingClass }),
      ...(t?.priority !== undefined && { priority: t.priority }),
    });
    dispatch.ensure(engine.size);
    return i;
  };

  const send = (c: DimmingChanges): void => {
    for (let k = 0; k < c.count; k++) dispatch.enqueue(c.index[k] as number);
  };

  const tickNow = (): void => {
    if (!active) return;
    const now = clock.now();
    counts.ticks++;
    send(engine.tick(now));
    dispatch.queueRefreshes(engine.size, now);
    dispatch.pump();
  };

  const applySchedulerSection = (raw: unknown, version: number): void => {
    if (raw === undefined) {
      // No program from the cloud: stop commanding; leases lapse and controllers run their own.
      if (active) log.info({ version }, 'scheduler section removed; devices return to their local programs as leases end');
      active = false;
      return;
    }
    const parsed = parseSchedulerConfig(raw);
    const applied = parsed.ok ? engine.applyConfig(parsed.value) : parsed;
    if (!applied.ok) {
      counts.configErrors++;
      log.error(
        { version, path: applied.error.path, reason: applied.error.reason },
        'scheduler config refused; previous program stays in force',
      );
      return;
    }
    traits = groupTraits(parsed.ok ? parsed.value : null);
    for (const id of births.keys()) registerLuminaire(id);
    active = true;
    log.info({ version, luminaires: engine.size }, 'scheduler config in force');
    tickNow();
  };

  const onDeviceState = (d: DeviceRecord): void => {
    if (d.kind !== 'luminaire') return;
    const prev = births.get(d.id);
    births.set(d.id, { group: d.group ?? UNGROUPED, nominalW: d.nominalPowerW ?? prev?.nominalW ?? 0, hours: prev?.hours ?? 0 });
    const i = registerLuminaire(d.id);
    dispatch.setOnline(i, d.status === 'online');
    // Back online: it may have fallen back to its own program meanwhile, so it gets the level in force now.
    // A luminaire new to the engine has no level yet; the next tick sends its first.
    if (d.status === 'online' && active && !Number.isNaN(engine.commandedLevel(i))) {
      dispatch.enqueue(i);
      dispatch.pump();
    }
  };

  const onTelemetry = (t: LocalTelemetry): void => {
    if (t.kind !== 'luminaire') return;
    const b = births.get(t.device);
    if (b === undefined) return;
    b.hours = t.operatingHours;
    engine.setOperatingHours(t.device, t.operatingHours);
  };

  const onDeviceEvent = (e: DeviceEvent): void => {
    if ((e.type !== 'motion' && e.type !== 'traffic') || !e.active || !active) return;
    // The agent's clock, not the device's: hold times and ramps run on one time base.
    const now = clock.now();
    if (!engine.feedSensorEvent(e.device, now)) {
      counts.unknownSensorEvents++;
      return;
    }
    counts.sensorEvents++;
    send(engine.tickSensorZones(now));
    dispatch.pump();
  };

  const unsubscribe = [
    host.onDeviceState(onDeviceState),
    host.onTelemetry(onTelemetry),
    host.onDeviceEvent(onDeviceEvent),
    host.onConfigApplied((c) => applySchedulerSection(c.config.scheduler, c.version)),
  ];
  for (const d of host.devices()) onDeviceState(d);
  applySchedulerSection(host.schedulerConfig(), 0);

  let stopped = false;
  let timer: TimerHandle | null = null;
  const loop = (): void => {
    timer = null;
    if (stopped) return;
    try {
      tickNow();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'dimming tick failed');
    }
    timer = timers.setTimeout(loop, tickIntervalMs);
  };
  timer = timers.setTimeout(loop, tickIntervalMs);

  return {
    engine,
    tickNow,
    stats: () => ({ active, luminaires: engine.size, ...counts, ...dispatch.stats() }),
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) timers.clearTimeout(timer);
      for (const u of unsubscribe) u();
      dispatch.close();
    },
  };
}

function groupTraits(cfg: SchedulerConfig | null): Map<string, GroupTraits> {
  const out = new Map<string, GroupTraits>();
  for (const g of cfg?.groups ?? []) {
    out.set(g.id, {
      ...(g.lightingClass !== undefined && { lightingClass: g.lightingClass }),
      ...(g.priority !== undefined && { priority: g.priority }),
    });
  }
  return out;
}
