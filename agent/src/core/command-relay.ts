import type { Logger } from 'pino';
import {
  CommandSchema,
  DeviceAckSchema,
  decode,
  formatPayloadError,
  parseJson,
  type Ack,
  type AckOutcome,
  type Clock,
  type Command,
  type CommandAction,
  type DeviceAck,
  type DeviceCommand,
} from '@poste/protocol';
import { validateCandidate } from './candidate';
import type { DeviceRegistry } from './device-registry';
import type { Rejections } from './rejections';
import type { Timers } from './timers';

export interface CommandRelayDeps {
  clock: Clock;
  timers: Timers;
  registry: DeviceRegistry;
  rejections: Rejections;
  log: Logger;
  /** How long to wait for a device's ack. */
  timeoutMs(): number;
  /** Hands the command to the adapter that owns the device; resolves once sent, not when acked. */
  sendToDevice(deviceId: string, cmd: DeviceCommand): Promise<void>;
  publishAck(ack: Ack): void;
  /** Executes a gateway-targeted action (rebirth); resolves with its outcome. */
  gatewayAction(action: CommandAction): Promise<{ outcome: AckOutcome; detail?: string }>;
}

interface PendingAck {
  resolve(ack: DeviceAck): void;
  timer: unknown;
}

export type CommandStats = Record<AckOutcome, number> & { received: number; unexpectedDeviceAcks: number };

/** Only the action fields of a command: what the device needs to know besides id and expiry. */
export function actionOf(cmd: Command | DeviceCommand): CommandAction {
  switch (cmd.action) {
    case 'dim':
      return cmd.until === undefined ? { action: 'dim', level: cmd.level } : { action: 'dim', level: cmd.level, until: cmd.until };
    case 'clearOverride':
      return { action: 'clearOverride' };
    case 'rebirth':
      return { action: 'rebirth' };
    case 'identify':
      return { action: 'identify', durationS: cmd.durationS };
    case 'bandwidthPlan':
      return { action: 'bandwidthPlan', plan: cmd.plan };
  }
}

/**
 * Cloud commands → device commands → device acks → one cloud ack per command. Group targets fan
 * out to the group's luminaires and collect per-device results.
 */
export class CommandRelay {
  readonly #d: CommandRelayDeps;
  readonly #pending = new Map<string, PendingAck>();
  #localSeq = 0;
  readonly #stats: CommandStats = {
    received: 0,
    unexpectedDeviceAcks: 0,
    done: 0,
    rejected: 0,
    expired: 0,
    unknownTarget: 0,
    failed: 0,
    timeout: 0,
  };

  constructor(deps: CommandRelayDeps) {
    this.#d = deps;
  }

  /** Handles a raw `poste/v1/gw/{gw}/cmd` payload; never throws. */
  async handleCommand(payload: Buffer): Promise<void> {
    this.#stats.received++;
    const decoded = decode(CommandSchema, payload);
    if (!decoded.ok) {
      this.#d.rejections.reject('command', decoded.error);
      // Tell the sender when we can: an invalid command with a usable id still gets an ack.
      const id = idOf(payload);
      if (id !== null) this.#ack({ id, outcome: 'rejected', detail: formatPayloadError(decoded.error) });
      return;
    }
    const cmd = decoded.value;
    const ack = await this.#execute(cmd).catch(
      (err: unknown): Omit<Ack, 'v' | 'ts'> => ({
        id: cmd.id,
        outcome: 'failed',
        detail: String((err as Error)?.message ?? err).slice(0, 500),
      }),
    );
    this.#ack(ack);
  }

  async #execute(cmd: Command): Promise<Omit<Ack, 'v' | 'ts'>> {
    if (this.#d.clock.now() > cmd.expiresAt) return { id: cmd.id, outcome: 'expired' };
    const action = actionOf(cmd);
    const target = cmd.target;
    if ('gateway' in target) {
      const r = await this.#d.gatewayAction(action);
      return { id: cmd.id, ...r };
    }
    if ('device' in target) {
      const r = await this.#relay(target.device, cmd.id, cmd.expiresAt, action);
      return { id: cmd.id, outcome: r.outcome, ...(r.detail !== undefined && { detail: r.detail }) };
    }
    const members = this.#d.registry.luminairesInGroup(target.group);
    if (members.length === 0) return { id: cmd.id, outcome: 'unknownTarget', detail: `no luminaires in group ${target.group}` };
    const acks = await Promise.all(members.map((m) => this.#relay(m.id, cmd.id, cmd.expiresAt, action)));
    const results = members.map((m, i) => {
      const a = acks[i]!;
      return { device: m.id, outcome: a.outcome, ...(a.detail !== undefined && { detail: a.detail }) };
    });
    const done = results.filter((r) => r.outcome === 'done').length;
    const first = results[0]!.outcome;
    // `done` only when all succeeded; a uniform outcome is reported as is, a mix as failed.
    const outcome: AckOutcome = results.every((r) => r.outcome === first) ? first : 'failed';
    return { id: cmd.id, outcome, detail: `${done}/${results.length} done`, results };
  }

  /**
   * Sends one action to one device and waits for its ack (the scheduler's entry point too).
   * Never rejects: unknown devices, offline devices and silence become ack outcomes.
   */
  commandDevice(deviceId: string, action: CommandAction, opts: { id?: string; expiresAt?: number } = {}): Promise<DeviceAck> {
    const id = opts.id ?? `gw-${this.#d.clock.now().toString(36)}-${(this.#localSeq++).toString(36)}`;
    const expiresAt = opts.expiresAt ?? this.#d.clock.now() + this.#d.timeoutMs();
    return this.#relay(deviceId, id, expiresAt, action);
  }

  async #relay(deviceId: string, id: string, expiresAt: number, action: CommandAction): Promise<DeviceAck> {
    const now = this.#d.clock.now();
    const device = this.#d.registry.get(deviceId);
    if (device === undefined) return { v: 1, id, outcome: 'unknownTarget', ts: now, detail: `unknown device ${deviceId}` };
    if (device.status === 'offline') return { v: 1, id, outcome: 'failed', ts: now, detail: 'device offline' };
    const key = `${deviceId}\u0000${id}`;
    const answer = new Promise<DeviceAck>((resolve) => {
      const timer = this.#d.timers.setTimeout(() => {
        this.#pending.delete(key);
        resolve({ v: 1, id, outcome: 'timeout', ts: this.#d.clock.now(), detail: `no ack from ${deviceId} in ${this.#d.timeoutMs()} ms` });
      }, this.#d.timeoutMs());
      this.#pending.set(key, { resolve, timer });
    });
    const deviceCommand = { v: 1, id, expiresAt, ...action } satisfies DeviceCommand;
    try {
      await this.#d.sendToDevice(deviceId, deviceCommand);
    } catch (err) {
      this.#settle(key, { v: 1, id, outcome: 'failed', ts: this.#d.clock.now(), detail: `send failed: ${(err as Error).message}` });
    }
    return answer;
  }

  /** Handles a device's ack as an adapter handed it in (raw JSON or a mapped object), validated here. */
  /** False when the ack is invalid (refused and counted); true when it was taken, matched or not. */
  handleDeviceAck(deviceId: string, value: unknown, adapter?: string): boolean {
    const decoded = validateCandidate(DeviceAckSchema, value);
    if (!decoded.ok) {
      this.#d.rejections.reject('deviceAck', decoded.error, { device: deviceId, ...(adapter !== undefined && { adapter }) });
      return false;
    }
    if (!this.#settle(`${deviceId}\u0000${decoded.value.id}`, decoded.value)) {
      this.#stats.unexpectedDeviceAcks++;
      this.#d.log.debug({ device: deviceId, id: decoded.value.id }, 'device ack for no pending command (late or duplicate)');
    }
    return true;
  }

  #settle(key: string, ack: DeviceAck): boolean {
    const p = this.#pending.get(key);
    if (!p) return false;
    this.#pending.delete(key);
    this.#d.timers.clearTimeout(p.timer);
    p.resolve(ack);
    return true;
  }

  #ack(a: Omit<Ack, 'v' | 'ts'>): void {
    this.#stats[a.outcome]++;
    const ack: Ack = { v: 1, ts: this.#d.clock.now(), ...a };
    if (ack.detail !== undefined) ack.detail = ack.detail.slice(0, 500);
    this.#d.publishAck(ack);
  }

  stats(): CommandStats {
    return { ...this.#stats };
  }

  /** Settles every pending device command as failed (agent shutting down). */
  close(): void {
    for (const [key] of this.#pending) {
      const id = key.split('\u0000')[1] ?? '';
      this.#settle(key, { v: 1, id, outcome: 'failed', ts: this.#d.clock.now(), detail: 'agent stopping' });
    }
  }
}

function idOf(payload: Buffer): string | null {
  const json = parseJson(payload);
  if (!json.ok || typeof json.value !== 'object' || json.value === null) return null;
  const id = (json.value as { id?: unknown }).id;
  return typeof id === 'string' && id.length >= 1 && id.length <= 64 ? id : null;
}
