// The agent updating itself: the OTA relay hands it `$gateway` jobs. Before a byte is downloaded
// the manifest is checked (trusted ed25519 key, signature, family `gateway-agent`, this gateway's
// model, no downgrade unless forced — and then audited); the downloaded bundle is written into the
// inactive slot, verified by reading it back, marked pending, and the agent exits so the
// supervisor restarts it through the launcher, which starts the pending slot on trial. The new
// agent's health check (north connected and the LAN endpoint answering MQTT within the trial
// deadline; the config file loaded, since the agent started at all) commits the slot, or the slot is
// rolled back and the agent exits again into the old one. Every outcome is kept in the slot state
// and reported north by whichever agent runs next, and again whenever the retained job returns.
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { canonicalManifestBytes, compareVersions, type OtaJob, type OtaStatus } from '@poste/protocol';
import type { Logger } from 'pino';
import { rollBack } from './boot-plan';
import {
  type AgentSlot,
  loadSlotState,
  otherSlot,
  runningVersion,
  type SelfOutcome,
  type SlotState,
  saveSlotState,
  sha256Of,
  slotFile,
  writeFileAtomic,
} from './slot-state';

export const SELF_TARGET = '$gateway';

export interface SelfUpdaterOptions {
  slotsDir: string;
  /** the slot this process was started from (the launcher's `--slot`) */
  slot: AgentSlot;
  /** this gateway's model (`--ota-model`); undefined = every update is refused */
  model: string | undefined;
  trustedKeysPem: readonly string[];
  /** a new bundle must pass its health check this long after the process started (the launcher's `--trial-ms`) */
  trialMs: number;
  now: () => number;
  log: Logger;
  /** stop the agent and exit for the supervisor to start it again (through the launcher) */
  restart: (reason: string) => void;
  /** ms since the process started (monotonic); default performance.now */
  uptimeMs?: () => number;
  /** tests: power is cut after this many bytes of the slot file are written */
  powerCutAfterBytes?: number;
}

/** What the health check looks at, given by the command line once the agent runs. */
export interface HealthProbes {
  /** resolves once the north link is connected (subscribed) */
  north(): Promise<void>;
  /** null when the LAN endpoint answers, else why not */
  lan(): Promise<string | null>;
}

export type InstallResult = { phase: 'installing' | 'refused' | 'failed'; detail: string };

function keyIdOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export class SelfUpdater {
  readonly #o: SelfUpdaterOptions;
  readonly #keys: KeyObject[];
  #publish: ((s: OtaStatus) => boolean) | null = null;

  constructor(o: SelfUpdaterOptions) {
    this.#o = o;
    this.#keys = o.trustedKeysPem.map((pem) => createPublicKey(pem));
  }

  #state(): SlotState {
    const r = loadSlotState(this.#o.slotsDir);
    if (!r.ok) throw new Error(`self-update: ${r.reason}`);
    return r.state;
  }

  /** The version this agent runs as (its slot's). */
  get running(): string {
    return this.#state().slots[this.#o.slot]?.version ?? 'unknown';
  }

  /** The slot state is on trial with this process's slot. */
  get onTrial(): boolean {
    return this.#state().pending?.slot === this.#o.slot;
  }

  /** The OTA extension's way north (QoS 1 ota/status; false while the link is down). */
  attach(publish: (s: OtaStatus) => boolean): void {
    this.#publish = publish;
  }

  #report(o: SelfOutcome): boolean {
    const sent =
      this.#publish?.({
        v: 1,
        jobId: o.jobId,
        target: SELF_TARGET,
        phase: o.phase,
        running: o.running,
        ...(o.detail !== undefined ? { detail: o.detail } : {}),
        ts: o.ts,
      }) ?? false;
    if (sent && !o.reported) {
      const s = this.#state();
      if (s.last?.jobId === o.jobId) saveSlotState(this.#o.slotsDir, { ...s, last: { ...s.last, reported: true } });
    }
    return sent;
  }

  /** North is up: an outcome not reported yet (the rollback the previous start decided, a commit) goes out. */
  northConnected(): void {
    const last = this.#state().last;
    if (last && !last.reported) this.#report(last);
  }

  /** The outcome of a job this gateway already finished (the retained job came back): report it again. */
  answerFinished(jobId: string): boolean {
    const last = this.#state().last;
    if (last?.jobId !== jobId) return false;
    this.#report(last);
    return true;
  }

  /** This job was installed here already (on trial now, or its outcome recorded). */
  knows(jobId: string): boolean {
    const s = this.#state();
    return s.pending?.jobId === jobId || s.last?.jobId === jobId;
  }

  /** Why this job may not be installed here, or null. Checked before downloading and again before writing. */
  refusal(job: OtaJob): string | null {
    const m = job.manifest;
    if (this.#keys.length === 0) return 'no trusted OTA keys on this gateway (--ota-trust)';
    const key = this.#keys.find((k) => keyIdOf(k) === m.keyId);
    if (!key) return `signing key ${m.keyId} is not trusted`;
    const { signature, ...unsigned } = m;
    if (!verify(null, canonicalManifestBytes(unsigned), key, Buffer.from(signature, 'base64')))
      return 'signature does not match the manifest';
    if (m.family !== 'gateway-agent') return `image is for family ${m.family}, this is the gateway-agent`;
    if (this.#o.model === undefined) return 'this agent has no model (--ota-model)';
    if (m.model !== this.#o.model) return `image is for model ${m.model}, this gateway is ${this.#o.model}`;
    const state = this.#state();
    if (state.pending) return `${state.pending.version} is still on trial; try again once it is committed or rolled back`;
    const running = runningVersion(state);
    const cmp = compareVersions(m.version, running);
    if (cmp === 0) return `already running ${m.version}`;
    if (cmp < 0 && job.force === undefined) return `downgrade from ${running} to ${m.version} refused (not forced)`;
    return null;
  }

  /** Keeps a refusal as the job's outcome (so a returning retained job is answered the same) and reports it. */
  refuse(job: OtaJob, phase: 'refused' | 'failed', detail: string): void {
    const state = this.#state();
    const last: SelfOutcome = { jobId: job.jobId, phase, detail, running: runningVersion(state), ts: this.#o.now(), reported: false };
    saveSlotState(this.#o.slotsDir, { ...state, last });
    this.#report(last);
  }

  /** Writes a downloaded bundle into the inactive slot and marks it pending; the caller then calls restartInto(). */
  install(job: OtaJob, image: Buffer): InstallResult {
    const refusal = this.refusal(job);
    if (refusal) return { phase: 'refused', detail: refusal };
    const m = job.manifest;
    if (image.byteLength !== m.size || sha256Of(image) !== m.sha256)
      return { phase: 'refused', detail: 'bundle does not match the manifest sha256' };
    let state = this.#state();
    const from = runningVersion(state);
    const slot = otherSlot(state.active);
    // The target slot stops being bootable before its first byte changes.
    state = { ...state, slots: { ...state.slots, [slot]: null } };
    saveSlotState(this.#o.slotsDir, state);
    try {
      writeFileAtomic(slotFile(this.#o.slotsDir, slot), image, this.#o.powerCutAfterBytes);
      if (sha256Of(readFileSync(slotFile(this.#o.slotsDir, slot))) !== m.sha256)
        return { phase: 'failed', detail: `slot ${slot} reads back a different sha256` };
    } catch (err) {
      return { phase: 'failed', detail: `cannot write slot ${slot}: ${(err as Error).message}` };
    }
    let detail = `${m.version} written to slot ${slot}; restarting into it for its health check`;
    if (job.force && compareVersions(m.version, from) < 0) {
      const entry = { ts: this.#o.now(), jobId: job.jobId, from, to: m.version, by: job.force.by, reason: job.force.reason };
      state = { ...state, audit: [...state.audit, entry].slice(-100) };
      detail = `forced downgrade by ${job.force.by}: ${job.force.reason}; ${detail}`;
      this.#o.log.warn(entry, 'self-update: forced downgrade (audited)');
    }
    saveSlotState(this.#o.slotsDir, {
      ...state,
      slots: { ...state.slots, [slot]: { version: m.version, sha256: m.sha256 } },
      pending: { slot, jobId: job.jobId, version: m.version, attempts: 0 },
    });
    this.#o.log.info({ jobId: job.jobId, version: m.version, slot }, 'self-update: new bundle pending');
    return { phase: 'installing', detail };
  }

  restartInto(reason: string): void {
    this.#o.restart(reason);
  }

  /**
   * Started on trial: commit once north is connected and the LAN endpoint answers, both before the
   * trial deadline; else roll back and restart into the old slot. A no-op when not on trial.
   */
  async runTrial(probes: HealthProbes): Promise<void> {
    const first = this.#state().pending;
    if (first?.slot !== this.#o.slot) return;
    const remaining = Math.max(0, this.#o.trialMs - (this.#o.uptimeMs ?? (() => performance.now()))());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`not healthy within ${this.#o.trialMs} ms of starting`), remaining);
    });
    let step = 'north link not connected';
    let expired = false;
    const check = (async (): Promise<string | null> => {
      await probes.north();
      step = 'LAN endpoint not answering';
      // The LAN endpoint is asked again until the deadline: one lost probe is not a failed bundle.
      for (;;) {
        const lan = await probes.lan();
        if (lan === null || expired) return lan;
        step = lan;
        await new Promise((r) => setTimeout(r, 500));
      }
    })().catch((err: Error) => `health check failed: ${err.message}`);
    const result = await Promise.race([check, deadline.then((why) => `${why} (${step})`)]);
    expired = true;
    clearTimeout(timer);
    const state = this.#state();
    const p = state.pending;
    if (p?.slot !== this.#o.slot) return; // the launcher's backstop decided already
    if (result === null) {
      const next: SlotState = { ...state, active: p.slot, previous: state.active };
      delete next.pending;
      next.last = { jobId: p.jobId, phase: 'committed', running: p.version, ts: this.#o.now(), reported: false };
      saveSlotState(this.#o.slotsDir, next);
      this.#o.log.info({ jobId: p.jobId, version: p.version, slot: p.slot }, 'self-update: health check passed; committed');
      this.#report(next.last!);
      return;
    }
    const old = runningVersion(state);
    rollBack(this.#o.slotsDir, state, `${p.version} failed its health check: ${result}; back on ${old}`, this.#o.now());
    this.#o.log.error({ jobId: p.jobId, version: p.version, reason: result }, 'self-update: health check failed; rolled back');
    this.#o.restart(`rolled back ${p.version}`);
  }
}
