// One Tasmota controller as the adapter sees it: presence (LWT), relay and dimmer state, the
// counters Tasmota does not keep (hours lit, switch-ons), the commands awaiting a RESULT, and the
// lease Tasmota cannot hold itself (a timed Dimmer is emulated with the agent's timers).
import type { Clock, DeviceCommand } from '@poste/protocol';
import type { TimerHandle, Timers } from '../../core/timers';
import type { AdapterSink } from '../types';
import type { TasmotaDeviceConfig } from './config';
import { dimmerOf, levelCommand, powerOf, readingFromSensor, resultConfirms, resultRefusal, type TasmotaCommand } from './mapping';

export interface ControllerDeps {
  sink: AdapterSink;
  clock: Clock;
  timers: Timers;
  /** Publishes `cmnd/<topic>/<name>`; rejects when the broker did not take it. */
  publish(name: TasmotaCommand['name'], payload: string): Promise<void>;
  maxPending: number;
  onProgramSendFailed(err: Error): void;
}

interface PendingCommand {
  /** null for the adapter's own program restores (nobody waits for their ack). */
  id: string | null;
  expect: TasmotaCommand['expect'];
}

export class TasmotaController {
  readonly config: TasmotaDeviceConfig;
  readonly #d: ControllerDeps;
  online = false;
  #seq = 0;
  #power: boolean | undefined;
  #dimmer: number | undefined;
  #hoursMs = 0;
  #accruedAt: number | undefined;
  #switchOns = 0;
  #uptimeSec: number | undefined;
  reboots = 0;
  readonly #pending: PendingCommand[] = [];
  droppedPending = 0;
  #lease: TimerHandle | null = null;
  /** A lease ended while the controller was offline: restore the program when it is back. */
  #programDue = false;

  constructor(config: TasmotaDeviceConfig, deps: ControllerDeps) {
    this.config = config;
    this.#d = deps;
  }

  get device(): string {
    return this.config.device;
  }

  /** LWT Online (or any telemetry from a controller not yet seen online): a birth. */
  cameOnline(): void {
    if (this.online) return;
    this.online = true;
    this.#seq++;
    this.#d.sink.state(this.device, {
      v: 1,
      kind: 'luminaire',
      status: 'online',
      seq: this.#seq,
      ts: this.#d.clock.now(),
      model: 'tasmota',
      group: this.config.group,
      nominalPowerW: this.config.nominalPowerW,
    });
    if (this.#programDue) this.#restoreProgram();
  }

  /** LWT Offline: the broker saw the controller's connection die. Commands in flight fail now. */
  wentOffline(): void {
    this.#accrue(this.#d.clock.now());
    this.#accruedAt = undefined;
    if (!this.online) return;
    this.online = false;
    this.#d.sink.will(this.device);
    for (const p of this.#pending.splice(0)) {
      if (p.id !== null) this.#ack(p.id, 'failed', 'controller went offline (LWT Offline) before confirming');
    }
  }

  /** tele/…/STATE, stat/…/RESULT and stat/…/POWER all carry the relay and dimmer. */
  observe(json: Record<string, unknown>): void {
    const now = this.#d.clock.now();
    this.#accrue(now);
    const power = powerOf(json);
    const dimmer = dimmerOf(json);
    const wasLit = this.#lit();
    if (power !== undefined) this.#power = power;
    if (dimmer !== undefined) this.#dimmer = dimmer;
    if (!wasLit && this.#lit() && (power !== undefined || dimmer !== undefined)) this.#switchOns++;
    const uptime = json.UptimeSec;
    if (typeof uptime === 'number') {
      if (this.#uptimeSec !== undefined && uptime < this.#uptimeSec) this.reboots++;
      this.#uptimeSec = uptime;
    }
  }

  /** tele/…/SENSOR (already parsed): the reading handed to the agent, which validates it. */
  sensor(json: Record<string, unknown>): void {
    const now = this.#d.clock.now();
    this.#accrue(now);
    this.#d.sink.telemetry(
      this.device,
      readingFromSensor(
        json,
        {
          device: this.device,
          power: this.#power,
          dimmer: this.#dimmer,
          operatingHours: this.#hoursMs / 3_600_000,
          switchOnCounter: this.#switchOns,
        },
        now,
      ),
    );
  }

  /** stat/…/RESULT: updates state, then settles the oldest command it confirms or refuses. */
  result(json: Record<string, unknown>): void {
    this.observe(json);
    const refusal = resultRefusal(json);
    if (refusal !== null) {
      const p = this.#pending.shift();
      if (p?.id != null) this.#ack(p.id, 'rejected', refusal);
      return;
    }
    const i = this.#pending.findIndex((p) => resultConfirms(json, p.expect));
    if (i < 0) return;
    const [p] = this.#pending.splice(i, 1);
    if (p?.id != null) this.#ack(p.id, 'done');
  }

  /** A Poste command; resolves once published (acks follow from RESULT), rejects when it cannot be. */
  async command(cmd: DeviceCommand): Promise<void> {
    switch (cmd.action) {
      case 'dim': {
        this.#endLease();
        if (cmd.until !== undefined) {
          const ms = Math.max(0, cmd.until - this.#d.clock.now());
          this.#lease = this.#d.timers.setTimeout(() => {
            this.#lease = null;
            this.#restoreProgram();
          }, ms);
        }
        await this.#send(cmd.id, levelCommand(cmd.level));
        return;
      }
      case 'clearOverride':
        this.#endLease();
        await this.#send(cmd.id, levelCommand(this.config.programLevel));
        return;
      case 'rebirth':
        // Tasmota has no birth to repeat; the adapter announces the controller again.
        if (this.online) {
          this.online = false;
          this.cameOnline();
        }
        this.#ack(cmd.id, 'done');
        return;
      case 'identify':
        this.#ack(cmd.id, 'rejected', 'identify: Tasmota lights have no identify command');
        return;
      default: {
        const other = cmd as unknown as { id: string; action: string };
        this.#ack(other.id, 'rejected', `${other.action}: not a luminaire command`);
      }
    }
  }

  stop(): void {
    this.#endLease();
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  async #send(id: string | null, c: TasmotaCommand): Promise<void> {
    this.#pending.push({ id, expect: c.expect });
    // Bounded: a controller that never answers must not grow the queue; the agent times the dropped one out.
    while (this.#pending.length > this.#d.maxPending) {
      this.#pending.shift();
      this.droppedPending++;
    }
    try {
      await this.#d.publish(c.name, c.payload);
    } catch (err) {
      const i = this.#pending.findIndex((p) => p.id === id && p.expect === c.expect);
      if (i >= 0) this.#pending.splice(i, 1);
      throw err;
    }
  }

  #restoreProgram(): void {
    if (!this.online) {
      this.#programDue = true;
      return;
    }
    this.#programDue = false;
    this.#send(null, levelCommand(this.config.programLevel)).catch((err: Error) => this.#d.onProgramSendFailed(err));
  }

  #endLease(): void {
    this.#programDue = false;
    if (this.#lease === null) return;
    this.#d.timers.clearTimeout(this.#lease);
    this.#lease = null;
  }

  #lit(): boolean {
    return this.#power === true && (this.#dimmer === undefined || this.#dimmer > 0);
  }

  #accrue(now: number): void {
    if (this.#accruedAt !== undefined && this.#lit()) this.#hoursMs += Math.max(0, now - this.#accruedAt);
    this.#accruedAt = now;
  }

  #ack(id: string, outcome: 'done' | 'rejected' | 'failed', detail?: string): void {
    this.#d.sink.ack(this.device, { v: 1, id, outcome, ts: this.#d.clock.now(), ...(detail !== undefined && { detail }) });
  }
}
