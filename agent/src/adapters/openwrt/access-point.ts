// One OpenWrt AP as the adapter sees it: presence (the script's status topic and report
// staleness), the class counters unwrapped across 32-bit wraps and reboots, and plan commands.
import type { Clock, DeviceCommand, TrafficClass } from '@poste/protocol';
import type { TimerHandle, Timers } from '../../core/timers';
import type { AdapterSink } from '../types';
import type { OpenWrtApConfig } from './config';
import { UnwrappedCounter } from './counters';
import { planMessage, tcCommands } from './tc-plan';
import { associatedClients, netDeviceOf, type UbusReport } from './ubus';

const CLASSES: readonly TrafficClass[] = ['household', 'telemedicine', 'public'];
/** Plan ids travel as the first word of a text line: letters, digits and . _ - : only. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface AccessPointDeps {
  sink: AdapterSink;
  clock: Clock;
  timers: Timers;
  staleAfterMs: number;
  /** Publishes a plan line to the AP's plan topic (QoS 1). */
  publishPlan(line: string): Promise<void>;
}

export class AccessPoint {
  readonly config: OpenWrtApConfig;
  readonly #d: AccessPointDeps;
  online = false;
  #seq = 0;
  #uptime: number | undefined;
  reboots = 0;
  readonly #counters = new Map<string, UnwrappedCounter>();
  #stale: TimerHandle | null = null;

  constructor(config: OpenWrtApConfig, deps: AccessPointDeps) {
    this.config = config;
    this.#d = deps;
  }

  get device(): string {
    return this.config.device;
  }

  get wraps(): number {
    let n = 0;
    for (const c of this.#counters.values()) n += c.wraps;
    return n;
  }

  cameOnline(): void {
    this.#armStale();
    if (this.online) return;
    this.online = true;
    this.#seq++;
    this.#d.sink.state(this.device, { v: 1, kind: 'ap', status: 'online', seq: this.#seq, ts: this.#d.clock.now(), model: 'openwrt' });
  }

  wentOffline(): void {
    if (this.#stale !== null) this.#d.timers.clearTimeout(this.#stale);
    this.#stale = null;
    if (!this.online) return;
    this.online = false;
    this.#d.sink.will(this.device);
  }

  /** One validated ubus report → one ApReading handed to the agent. */
  report(r: UbusReport): void {
    this.cameOnline();
    const rebooted = this.#uptime !== undefined && r.system.uptime < this.#uptime;
    if (rebooted) this.reboots++;
    this.#uptime = r.system.uptime;
    const bytes = { household: 0, telemedicine: 0, public: 0 };
    const clients = { household: 0, telemedicine: 0, public: 0 };
    for (const cls of CLASSES) {
      for (const name of this.config.classes[cls].netdevs) {
        const dev = netDeviceOf(r, name);
        if (dev === null) continue;
        bytes[cls] += this.#counter(`${name}:rx`).update(dev.statistics.rx_bytes, rebooted);
        bytes[cls] += this.#counter(`${name}:tx`).update(dev.statistics.tx_bytes, rebooted);
      }
      for (const ifname of this.config.classes[cls].wifi) clients[cls] += associatedClients(r, ifname);
    }
    const available = r.system.memory.available ?? r.system.memory.free;
    this.#d.sink.telemetry(this.device, {
      kind: 'ap',
      device: this.device,
      ts: this.#d.clock.now(),
      capacityKbps: this.config.capacityKbps,
      uptime: r.system.uptime,
      clients,
      bytes,
      // ubus gives loads × 65536 (procd's fixed point).
      load1: Math.round((r.system.load[0]! / 65_536) * 100) / 100,
      memAvailableBytes: available,
    });
  }

  /** Sends a plan; the ack comes from the AP's ack topic. Other actions are answered here. */
  async command(cmd: DeviceCommand): Promise<void> {
    switch (cmd.action) {
      case 'bandwidthPlan': {
        if (!SAFE_ID.test(cmd.id))
          throw new Error(`command id ${JSON.stringify(cmd.id)} cannot travel in a plan line (letters, digits, . _ - : only)`);
        const lines = tcCommands(cmd.plan, this.config);
        await this.#d.publishPlan(planMessage(cmd.id, this.config.uplink, lines));
        return;
      }
      case 'rebirth':
        if (this.online) {
          this.online = false;
          this.cameOnline();
        }
        this.#ack(cmd.id, 'done');
        return;
      case 'identify':
        this.#ack(cmd.id, 'rejected', 'identify: not supported by the OpenWrt adapter');
        return;
      default:
        this.#ack(cmd.id, 'rejected', `${cmd.action}: not an access point command`);
    }
  }

  /** The AP script's answer to a plan: `{"id", "outcome": "done"|"rejected", "detail"}`. */
  ack(value: { id: string; outcome: 'done' | 'rejected'; detail?: string | undefined }): void {
    this.#ack(value.id, value.outcome, value.detail);
  }

  stop(): void {
    if (this.#stale !== null) this.#d.timers.clearTimeout(this.#stale);
    this.#stale = null;
  }

  #counter(key: string): UnwrappedCounter {
    let c = this.#counters.get(key);
    if (c === undefined) {
      c = new UnwrappedCounter();
      this.#counters.set(key, c);
    }
    return c;
  }

  #armStale(): void {
    if (this.#stale !== null) this.#d.timers.clearTimeout(this.#stale);
    this.#stale = this.#d.timers.setTimeout(() => {
      this.#stale = null;
      this.wentOffline();
    }, this.#d.staleAfterMs);
  }

  #ack(id: string, outcome: 'done' | 'rejected', detail?: string): void {
    this.#d.sink.ack(this.device, {
      v: 1,
      id,
      outcome,
      ts: this.#d.clock.now(),
      ...(detail !== undefined && { detail: detail.slice(0, 500) }),
    });
  }
}
