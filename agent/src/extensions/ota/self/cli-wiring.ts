// What the agent's command line needs for self-updates, kept here so cli.ts stays small: the
// SelfUpdater from `--slots/--slot/--trial-ms` (given by the launcher) and `--ota-trust/--ota-model`
// (given by the service file), and the health probes once the agent runs.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { probeHost, probeMqttEndpoint } from './lan-probe';
import { SelfUpdater } from './self-updater';
import { AgentSlotSchema } from './slot-state';

export interface SelfUpdateArgs {
  slots?: string | undefined;
  slot?: string | undefined;
  'trial-ms'?: string | undefined;
  'ota-trust'?: string | undefined;
  'ota-model'?: string | undefined;
}

/** Public keys in a PEM file (several may follow each other). */
export function readTrustedKeys(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const keys = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (keys.length === 0) throw new Error(`${file}: no PEM public key in it`);
  return keys.map((k) => `${k}\n`);
}

export type SelfUpdateSetup = { ok: true; updater: SelfUpdater | undefined } | { ok: false; error: string };

/** undefined updater without `--slots` (started without the launcher: `$gateway` jobs are refused). */
export function selfUpdaterFromArgs(a: SelfUpdateArgs, log: Logger, restart: (reason: string) => void): SelfUpdateSetup {
  if (a.slots === undefined) return { ok: true, updater: undefined };
  const slot = AgentSlotSchema.safeParse(a.slot);
  if (!slot.success) return { ok: false, error: `--slot ${a.slot ?? '(missing)'}: a or b (with --slots)` };
  const trialMs = Number(a['trial-ms'] ?? '60000');
  if (!Number.isInteger(trialMs) || trialMs < 1_000) return { ok: false, error: `--trial-ms ${a['trial-ms']}: an integer ≥ 1000` };
  let keys: string[] = [];
  if (a['ota-trust'] !== undefined) {
    try {
      keys = readTrustedKeys(a['ota-trust']);
    } catch (err) {
      // The agent still runs (a missing trust file must not take a street dark); self-updates are refused.
      log.error({ err: (err as Error).message }, 'self-update: no trusted OTA keys; updates of the agent will be refused');
    }
  }
  try {
    const updater = new SelfUpdater({
      slotsDir: a.slots,
      slot: slot.data,
      model: a['ota-model'],
      trustedKeysPem: keys,
      trialMs,
      now: () => Date.now(),
      log: log.child({ component: 'self-update' }),
      restart,
    });
    log.info({ slot: slot.data, version: updater.running, onTrial: updater.onTrial }, 'self-update: started from a slot');
    return { ok: true, updater };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** The health probes: north connected, and the first listening LAN adapter answering MQTT. */
export function healthProbes(
  agent: { whenNorthConnected(): Promise<void>; readonly localPort: number },
  adapters: ReadonlyArray<{ host?: string | undefined }>,
): { north(): Promise<void>; lan(): Promise<string | null> } {
  return {
    north: () => agent.whenNorthConnected(),
    lan: async () => {
      if (agent.localPort === 0) return null; // no adapter listens (e.g. Tasmota on an existing broker): nothing to probe
      const host = probeHost(adapters.find((x) => x.host !== undefined)?.host ?? '127.0.0.1');
      return probeMqttEndpoint(host, agent.localPort, 5_000);
    },
  };
}
