// The OTA extension: relays signed firmware from the cloud to the gateway's devices (ota-relay.ts),
// started like dimming: `startAgent({ extensions: [otaExtension({ dir })] })`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentExtension } from '../types';
import { OtaRelay, type OtaRelayStats } from './ota-relay';
import type { SelfUpdater } from './self/self-updater';

export const OTA_EXTENSION_NAME = 'ota';

export interface OtaExtensionOptions {
  /** where jobs and partial images persist; give the agent's `<dataDir>/ota` so a restart resumes. Default: a temp dir (no resume across restarts). */
  dir?: string;
  /** ask again when a chunk or a device's answer does not come in this time (timer ms); default 10 s */
  retryMs?: number;
  /** the agent's own updates (`$gateway` targets), when it was started by its launcher (self/); without it they are refused */
  self?: SelfUpdater;
}

export function otaExtension(opts: OtaExtensionOptions = {}): AgentExtension {
  return {
    name: OTA_EXTENSION_NAME,
    start(host) {
      const dir = opts.dir ?? join(mkdtempSync(join(tmpdir(), 'poste-ota-')), 'ota');
      // Attached first: the relay may report a self-update refusal while it adopts jobs left on disk.
      opts.self?.attach((s) => host.ota.publishStatus(s));
      const relay = new OtaRelay({
        dir,
        now: () => host.clock.now(),
        timers: host.timers,
        log: host.logger,
        retryMs: opts.retryMs ?? 10_000,
        ...(opts.self ? { self: opts.self } : {}),
        ports: { publishStatus: (s) => host.ota.publishStatus(s), sendToDevice: (d, m) => host.ota.sendToDevice(d, m) },
      });
      const json = (payload: Buffer): unknown => {
        try {
          return JSON.parse(payload.toString('utf8')) as unknown;
        } catch {
          return undefined;
        }
      };
      host.ota.onJob((p) => relay.handleJob(json(p)));
      host.ota.onChunk((p) => relay.handleChunk(json(p)));
      host.ota.onNorthConnected(() => {
        opts.self?.northConnected();
        relay.northConnected();
      });
      // Adapters hand in raw LAN payloads (bytes) or already-mapped objects.
      host.ota.onDeviceStatus((device, p) => relay.handleDeviceStatus(device, Buffer.isBuffer(p) ? json(p) : p));
      return { stats: (): OtaRelayStats => relay.stats(), stop: () => relay.stop() };
    },
  };
}

export { OtaRelay, type OtaRelayOptions, type OtaRelayPorts, type OtaRelayStats } from './ota-relay';
export { type HealthProbes, SELF_TARGET, SelfUpdater, type SelfUpdaterOptions } from './self/self-updater';
