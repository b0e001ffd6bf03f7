import type { Logger } from 'pino';
import {
  DesiredConfigSchema,
  GatewayConfigSchema,
  decode,
  parseJson,
  type Clock,
  type GatewayConfig,
  type ReportedConfig,
} from '@poste/protocol';
import type { SchedulerConfigValidator } from './options';
import type { Rejections } from './rejections';
import type { StateStore } from './state-store';

export interface AppliedConfig {
  /** 0 = nothing applied yet (defaults from the agent options in force). */
  version: number;
  config: GatewayConfig;
}

export interface DesiredConfigDeps {
  clock: Clock;
  store: StateStore;
  rejections: Rejections;
  log: Logger;
  validateScheduler?: SchedulerConfigValidator | undefined;
  /** Puts a validated config into force (telemetry limits, scheduler section). */
  apply(config: AppliedConfig): void;
  publishReported(report: ReportedConfig): void;
}

/**
 * Desired/reported configuration with a version number: the cloud publishes desired (retained),
 * the agent applies a version only if it is newer than the one in force and reports the outcome.
 */
export class DesiredConfigHandler {
  readonly #d: DesiredConfigDeps;
  #applied: AppliedConfig;

  constructor(deps: DesiredConfigDeps) {
    this.#d = deps;
    const persisted = deps.store.get().config;
    const parsed = persisted ? GatewayConfigSchema.safeParse(persisted.config) : null;
    this.#applied = persisted && parsed?.success ? { version: persisted.version, config: parsed.data } : { version: 0, config: {} };
  }

  get applied(): AppliedConfig {
    return this.#applied;
  }

  handle(payload: Buffer): void {
    const decoded = decode(DesiredConfigSchema, payload);
    if (!decoded.ok) {
      this.#reject(versionOf(payload), decoded.error.path, decoded.error.reason);
      return;
    }
    const desired = decoded.value;
    // The retained desired config comes back on every reconnect: an old version is not news.
    if (desired.version <= this.#applied.version) {
      this.#d.log.debug({ version: desired.version, applied: this.#applied.version }, 'desired config not newer; ignored');
      return;
    }
    if (desired.config.scheduler !== undefined && this.#d.validateScheduler) {
      const err = this.#d.validateScheduler(desired.config.scheduler);
      if (err) {
        this.#reject(desired.version, err.path ? `config.scheduler.${err.path}` : 'config.scheduler', err.reason);
        return;
      }
    }
    this.#applied = { version: desired.version, config: desired.config };
    this.#d.store.update({ config: { version: desired.version, config: desired.config } });
    this.#d.apply(this.#applied);
    this.#d.publishReported({ v: 1, version: desired.version, ts: this.#d.clock.now(), status: 'applied' });
    this.#d.log.info({ version: desired.version }, 'desired config applied');
  }

  #reject(rejectedVersion: number | null, path: string, reason: string): void {
    this.#d.rejections.reject('configDesired', { path, reason });
    this.#d.publishReported({
      v: 1,
      version: this.#applied.version,
      ts: this.#d.clock.now(),
      status: 'rejected',
      ...(rejectedVersion !== null && { rejectedVersion }),
      error: { path, reason: reason.slice(0, 500) },
    });
  }
}

function versionOf(payload: Buffer): number | null {
  const json = parseJson(payload);
  if (!json.ok || typeof json.value !== 'object' || json.value === null) return null;
  const v = (json.value as { version?: unknown }).version;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : null;
}
