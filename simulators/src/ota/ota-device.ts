// The device side of an OTA update, as a luminaire controller or AP implements it: verify the
// manifest (trusted ed25519 key, signature, family, model, no downgrade unless forced — and then
// audited) before a byte is written; write chunks in order into the inactive slot, each fsynced
// before it is counted; verify the whole image's sha256; boot it once on trial; commit it only
// after its health check passes, else fall back to the old slot. Power lost at any point leaves
// the old slot bootable: the active slot only changes at commit, in one atomic boot-env write.
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import {
  canonicalManifestBytes,
  chunkCount,
  compareVersions,
  type FirmwareManifest,
  FirmwareManifestSchema,
  type LocalOta,
  type LocalOtaStatus,
  LocalOtaSchema,
} from '@poste/protocol';
import type { BootEnv, SlotName, SlotStorage } from './slot-storage';

/** Decides whether a freshly booted image works (the simulated firmware's self-test). */
export type HealthCheck = (image: Buffer, version: string) => boolean | Promise<boolean>;

/**
 * The simulated firmware's self-test: an image whose first line is JSON `{"selfTest":"fail"}`
 * boots but fails its health check (a bad build); anything else passes.
 */
export const simulatedSelfTest: HealthCheck = (image) => {
  const firstLine = image.subarray(0, Math.min(image.indexOf(0x0a) >= 0 ? image.indexOf(0x0a) : 200, 200)).toString('utf8');
  try {
    return (JSON.parse(firstLine) as { selfTest?: string }).selfTest !== 'fail';
  } catch {
    return true;
  }
};

export interface OtaDeviceOptions {
  family: FirmwareManifest['family'];
  model: string;
  trustedKeysPem: readonly string[];
  storage: SlotStorage;
  healthCheck?: HealthCheck;
  now: () => number;
}

const other = (s: SlotName): SlotName => (s === 'A' ? 'B' : 'A');

function keyIdOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export class OtaDevice {
  readonly #opts: OtaDeviceOptions;
  readonly #keys: KeyObject[];
  #env: BootEnv;

  /** Powers the device on: boots the active slot; a trial that was never confirmed is abandoned (the old slot boots). */
  constructor(opts: OtaDeviceOptions) {
    this.#opts = opts;
    this.#keys = opts.trustedKeysPem.map((pem) => createPublicKey(pem));
    const env = opts.storage.loadEnv();
    if (env.trial !== undefined) {
      env.slots[env.trial] = { size: 0, valid: false };
      delete env.trial;
      opts.storage.saveEnv(env);
    }
    this.#env = env;
  }

  /** The version the device runs. */
  get running(): string {
    return this.#env.slots[this.#env.active].version ?? 'unknown';
  }

  get activeSlot(): SlotName {
    return this.#env.active;
  }

  /** Copy of the boot environment (slots, transfer, audit trail). */
  bootEnv(): BootEnv {
    return structuredClone(this.#env);
  }

  #status(jobId: string, phase: LocalOtaStatus['phase'], extra: Partial<LocalOtaStatus> = {}): LocalOtaStatus {
    return { v: 1, jobId, phase, running: this.running, ts: this.#opts.now(), ...extra };
  }

  /** Handles one LAN OTA message; resolves with the statuses to send (in order). May throw PowerCut. */
  async handle(raw: unknown): Promise<LocalOtaStatus[]> {
    const parsed = LocalOtaSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const jobId = typeof (raw as { jobId?: unknown })?.jobId === 'string' ? (raw as { jobId: string }).jobId : 'unknown';
      return [this.#status(jobId, 'failed', { detail: `invalid OTA message: ${i?.path.join('.')}: ${i?.message}` })];
    }
    const msg = parsed.data;
    if (msg.type === 'begin') return [this.#begin(msg)];
    if (msg.type === 'abort') return [this.#abort(msg.jobId)];
    return this.#chunk(msg);
  }

  /** Why this manifest may not be installed here, or null. */
  #refusal(m: FirmwareManifest, msg: Extract<LocalOta, { type: 'begin' }>): string | null {
    const key = this.#keys.find((k) => keyIdOf(k) === m.keyId);
    if (!key) return `signing key ${m.keyId} is not trusted`;
    const { signature, ...unsigned } = m;
    if (!verify(null, canonicalManifestBytes(unsigned), key, Buffer.from(signature, 'base64')))
      return 'signature does not match the manifest';
    if (m.family !== this.#opts.family) return `image is for family ${m.family}, this device is ${this.#opts.family}`;
    if (m.model !== this.#opts.model) return `image is for model ${m.model}, this device is ${this.#opts.model}`;
    const cmp = compareVersions(m.version, this.running);
    if (cmp === 0) return `already running ${m.version}`;
    if (cmp < 0 && msg.force === undefined) return `downgrade from ${this.running} to ${m.version} refused (not forced)`;
    return null;
  }

  #begin(msg: Extract<LocalOta, { type: 'begin' }>): LocalOtaStatus {
    const t = this.#env.transfer;
    // The same job again (the agent reconnected, or the device lost power): resume where it stopped.
    if (t && t.jobId === msg.jobId && JSON.stringify(t.manifest) === JSON.stringify(msg.manifest)) {
      return this.#status(msg.jobId, 'transferring', { next: t.next });
    }
    const manifest = FirmwareManifestSchema.parse(msg.manifest);
    const refusal = this.#refusal(manifest, msg);
    if (refusal) return this.#status(msg.jobId, 'refused', { detail: refusal });
    const slot = other(this.#env.active);
    let detail: string | undefined;
    if (msg.force && compareVersions(manifest.version, this.running) < 0) {
      const entry = {
        ts: this.#opts.now(),
        jobId: msg.jobId,
        from: this.running,
        to: manifest.version,
        by: msg.force.by,
        reason: msg.force.reason,
      };
      this.#env.audit = [...this.#env.audit, entry].slice(-100);
      detail = `forced downgrade by ${msg.force.by}: ${msg.force.reason}`;
    }
    // The target slot stops being bootable before its first byte changes.
    this.#env.slots[slot] = { size: 0, valid: false };
    this.#env.transfer = { jobId: msg.jobId, manifest, ...(msg.force ? { force: msg.force } : {}), slot, next: 0 };
    this.#opts.storage.saveEnv(this.#env);
    return this.#status(msg.jobId, 'transferring', { next: 0, ...(detail ? { detail } : {}) });
  }

  #abort(jobId: string): LocalOtaStatus {
    const t = this.#env.transfer;
    if (t?.jobId === jobId) {
      delete this.#env.transfer;
      this.#opts.storage.saveEnv(this.#env);
    }
    return this.#status(jobId, 'failed', { detail: 'aborted' });
  }

  async #chunk(msg: Extract<LocalOta, { type: 'chunk' }>): Promise<LocalOtaStatus[]> {
    const t = this.#env.transfer;
    if (!t || t.jobId !== msg.jobId)
      return [this.#status(msg.jobId, 'failed', { detail: `no transfer of job ${msg.jobId} in progress (send begin)` })];
    const manifest = FirmwareManifestSchema.parse(t.manifest);
    // Out of order (a duplicate after a reconnect, or a gap): say which chunk is wanted.
    if (msg.index !== t.next) return [this.#status(msg.jobId, 'transferring', { next: t.next })];
    const data = Buffer.from(msg.data, 'base64');
    const expected = Math.min(manifest.chunkSize, manifest.size - msg.index * manifest.chunkSize);
    if (data.byteLength !== expected) {
      return [
        this.#status(msg.jobId, 'transferring', {
          next: t.next,
          detail: `chunk ${msg.index} is ${data.byteLength} bytes, expected ${expected}`,
        }),
      ];
    }
    this.#opts.storage.writeSlot(t.slot, msg.index * manifest.chunkSize, data);
    t.next += 1;
    this.#opts.storage.saveEnv(this.#env);
    if (t.next < chunkCount(manifest)) return [this.#status(msg.jobId, 'transferring', { next: t.next })];
    return this.#install(msg.jobId, t.slot, manifest);
  }

  async #install(jobId: string, slot: SlotName, manifest: FirmwareManifest): Promise<LocalOtaStatus[]> {
    const image = this.#opts.storage.readSlot(slot, manifest.size);
    delete this.#env.transfer;
    if (createHash('sha256').update(image).digest('hex') !== manifest.sha256) {
      this.#opts.storage.saveEnv(this.#env);
      return [this.#status(jobId, 'refused', { detail: 'image sha256 does not match the manifest (slot left unbootable)' })];
    }
    this.#env.slots[slot] = { version: manifest.version, sha256: manifest.sha256, size: manifest.size, valid: true };
    this.#env.trial = slot;
    this.#opts.storage.saveEnv(this.#env);
    const installing = this.#status(jobId, 'installing', { running: manifest.version });
    const healthy = await (this.#opts.healthCheck ?? simulatedSelfTest)(image, manifest.version);
    delete this.#env.trial;
    if (!healthy) {
      this.#env.slots[slot] = { size: 0, valid: false };
      this.#opts.storage.saveEnv(this.#env);
      return [
        installing,
        this.#status(jobId, 'rolledBack', { detail: `${manifest.version} failed its health check; back on ${this.running}` }),
      ];
    }
    this.#env.active = slot;
    this.#opts.storage.saveEnv(this.#env);
    return [installing, this.#status(jobId, 'committed')];
  }
}
