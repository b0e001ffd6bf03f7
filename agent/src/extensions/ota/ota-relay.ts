// The agent's part of an OTA update: download the job's image from the cloud chunk by chunk
// (pulled: the agent asks for the next chunk it lacks, so a transfer resumes after any disconnect
// or restart from the last good chunk), check every chunk's sha256 and the whole image's, then feed
// each target device in turn at the pace it asks for, forwarding every device status north. The
// device verifies signature, family, model and version itself; the agent only relays. The target
// `$gateway` is the agent itself: its checks run before the download and its install last, after
// every device of the job is done, since installing ends with a restart (self/self-updater.ts).
import { createHash } from 'node:crypto';
import {
  chunkCount,
  type LocalOta,
  type LocalOtaStatus,
  LocalOtaStatusSchema,
  type OtaChunk,
  OtaChunkSchema,
  type OtaJob,
  OtaJobSchema,
  type OtaStatus,
} from '@poste/protocol';
import type { Logger } from 'pino';
import type { Timers, TimerHandle } from '../../core/timers';
import { JobFiles, loadFinished, saveFinished } from './job-files';
import { SELF_TARGET, type SelfUpdater } from './self/self-updater';

export interface OtaRelayPorts {
  /** publishes a status north (QoS 1); false when the link is down (a reconnect re-asks anyway) */
  publishStatus(status: OtaStatus): boolean;
  /** sends one LAN OTA message to a device; rejects when it cannot be sent */
  sendToDevice(deviceId: string, msg: LocalOta): Promise<void>;
}

export interface OtaRelayOptions {
  /** where jobs and partial images persist (`<dataDir>/ota`); without it, in a temp dir per run */
  dir: string;
  now: () => number;
  timers: Timers;
  log: Logger;
  ports: OtaRelayPorts;
  /** ask again when a requested chunk (or a device's answer) does not come in this time */
  retryMs: number;
  /** installs `$gateway` jobs (the agent started by its launcher); without it they are refused */
  self?: SelfUpdater;
}

export interface OtaRelayStats {
  jobs: number;
  chunksReceived: number;
  chunksRejected: number;
  chunkRequests: number;
  devicesDone: number;
}

type DeviceOutcome = 'pending' | 'running' | 'done';

interface ActiveJob {
  job: OtaJob;
  files: JobFiles;
  next: number;
  complete: boolean;
  image: Buffer | null;
  devices: Map<string, DeviceOutcome>;
  /** the `$gateway` target: null when the job does not name it */
  self: 'pending' | 'done' | null;
  retry: TimerHandle | null;
}

const TERMINAL = new Set(['committed', 'rolledBack', 'refused', 'failed']);

export class OtaRelay {
  readonly #o: OtaRelayOptions;
  readonly #jobs = new Map<string, ActiveJob>();
  readonly #stats: OtaRelayStats = { jobs: 0, chunksReceived: 0, chunksRejected: 0, chunkRequests: 0, devicesDone: 0 };
  readonly #finished: string[];
  #stopped = false;

  constructor(o: OtaRelayOptions) {
    this.#o = o;
    this.#finished = loadFinished(o.dir);
    // Jobs from an earlier run carry on where they stopped.
    for (const { job, progress } of JobFiles.list(o.dir)) this.#adopt(job, progress.next, progress.complete);
  }

  stats(): OtaRelayStats {
    return { ...this.#stats, jobs: this.#jobs.size };
  }

  /** A job arrived on ota/job (retained: also after every reconnect). An unknown job starts; a known one carries on. */
  handleJob(raw: unknown): void {
    const r = OtaJobSchema.safeParse(raw);
    if (!r.success) {
      this.#o.log.warn({ issue: r.error.issues[0]?.message, path: r.error.issues[0]?.path.join('.') }, 'ota: job refused');
      return;
    }
    if (this.#finished.includes(r.data.jobId)) {
      // A self-update's outcome is told again each time its retained job comes back (a status may be lost).
      if (r.data.targets.includes(SELF_TARGET)) this.#o.self?.answerFinished(r.data.jobId);
      return;
    }
    const known = this.#jobs.get(r.data.jobId);
    if (known) {
      this.#kick(known);
      return;
    }
    const files = new JobFiles(this.#o.dir, r.data.jobId);
    files.saveJob(r.data);
    files.saveProgress({ next: 0, complete: false });
    this.#adopt(r.data, 0, false);
  }

  #adopt(job: OtaJob, next: number, complete: boolean): void {
    const devices = new Map<string, DeviceOutcome>(job.targets.filter((t) => t !== SELF_TARGET).map((t) => [t, 'pending']));
    const self = job.targets.includes(SELF_TARGET) ? this.#selfBeforeDownload(job) : null;
    const active: ActiveJob = { job, files: new JobFiles(this.#o.dir, job.jobId), next, complete, image: null, devices, self, retry: null };
    this.#jobs.set(job.jobId, active);
    this.#stats.jobs = this.#jobs.size;
    if (devices.size === 0 && self === 'done') {
      this.#finish(active);
      return;
    }
    this.#kick(active);
  }

  /** The `$gateway` target's checks before a byte is downloaded: 'done' when it is refused (and reported) or already installed. */
  #selfBeforeDownload(job: OtaJob): 'pending' | 'done' {
    const self = this.#o.self;
    if (!self) {
      const detail = 'this agent was not started by its launcher (no --slots): it cannot update itself';
      this.#o.ports.publishStatus({ v: 1, jobId: job.jobId, ts: this.#o.now(), target: SELF_TARGET, phase: 'refused', detail });
      return 'done';
    }
    // Installed before a power cut or restart that came before the job was marked finished: its outcome comes from the slot state.
    if (self.knows(job.jobId)) return 'done';
    const refusal = self.refusal(job);
    if (refusal === null) return 'pending';
    this.#o.log.warn({ jobId: job.jobId, refusal }, 'ota: self-update refused');
    self.refuse(job, 'refused', refusal);
    return 'done';
  }

  /** The north link is up again: every job asks for what it lacks. */
  northConnected(): void {
    for (const j of this.#jobs.values()) this.#kick(j);
  }

  /** Next step of a job: ask for the next chunk, or feed the devices. */
  #kick(j: ActiveJob): void {
    if (this.#stopped) return;
    if (!j.complete) {
      this.#request(j);
      return;
    }
    for (const [device, outcome] of j.devices) if (outcome !== 'done') this.#begin(j, device);
    this.#maybeInstallSelf(j);
  }

  /** Once every device of the job is done: the agent installs its own new bundle (ends in a restart). */
  #maybeInstallSelf(j: ActiveJob): void {
    const self = this.#o.self;
    if (j.self !== 'pending' || !self || [...j.devices.values()].some((o) => o !== 'done')) return;
    const image = j.image ?? j.files.readImage().subarray(0, j.job.manifest.size);
    const r = self.install(j.job, image);
    j.self = 'done';
    if (r.phase === 'installing') {
      this.#status(j, { target: SELF_TARGET, phase: 'installing', detail: r.detail, running: self.running });
      this.#finish(j);
      self.restartInto(`installing ${j.job.manifest.version}`);
      return;
    }
    self.refuse(j.job, r.phase, r.detail);
    this.#finish(j);
  }

  #status(j: ActiveJob, s: Omit<OtaStatus, 'v' | 'jobId' | 'ts'>): void {
    this.#o.ports.publishStatus({ v: 1, jobId: j.job.jobId, ts: this.#o.now(), ...s });
  }

  #armRetry(j: ActiveJob): void {
    if (j.retry !== null) this.#o.timers.clearTimeout(j.retry);
    j.retry = this.#o.timers.setTimeout(() => {
      j.retry = null;
      this.#kick(j);
    }, this.#o.retryMs);
  }

  #request(j: ActiveJob): void {
    this.#stats.chunkRequests++;
    this.#status(j, { phase: 'downloading', next: j.next });
    this.#armRetry(j);
  }

  /** A chunk arrived on ota/chunk. Only the one asked for is taken; a corrupted one is asked for again. */
  handleChunk(raw: unknown): void {
    const r = OtaChunkSchema.safeParse(raw);
    if (!r.success) return;
    const c: OtaChunk = r.data;
    const j = this.#jobs.get(c.jobId);
    if (!j || j.complete || c.index !== j.next) return;
    const data = Buffer.from(c.data, 'base64');
    const m = j.job.manifest;
    const expected = Math.min(m.chunkSize, m.size - c.index * m.chunkSize);
    if (createHash('sha256').update(data).digest('hex') !== c.sha256 || data.byteLength !== expected) {
      this.#stats.chunksRejected++;
      this.#o.log.warn({ jobId: c.jobId, index: c.index }, 'ota: chunk does not match its hash or size; asking again');
      this.#request(j);
      return;
    }
    this.#stats.chunksReceived++;
    j.files.writeChunk(c.index * m.chunkSize, data);
    j.next += 1;
    if (j.next < chunkCount(m)) {
      j.files.saveProgress({ next: j.next, complete: false });
      this.#request(j);
      return;
    }
    const image = j.files.readImage().subarray(0, m.size);
    if (createHash('sha256').update(image).digest('hex') !== m.sha256) {
      // Every chunk matched its own hash, so the cloud served another image: start over, say so.
      this.#o.log.error({ jobId: c.jobId }, 'ota: downloaded image does not match the manifest; downloading again');
      j.next = 0;
      j.files.saveProgress({ next: 0, complete: false });
      this.#status(j, { phase: 'failed', detail: 'downloaded image sha256 does not match the manifest; downloading again' });
      this.#request(j);
      return;
    }
    j.complete = true;
    j.image = image;
    j.files.saveProgress({ next: j.next, complete: true });
    if (j.retry !== null) this.#o.timers.clearTimeout(j.retry);
    j.retry = null;
    this.#kick(j);
  }

  #send(j: ActiveJob, device: string, msg: LocalOta): void {
    this.#o.ports.sendToDevice(device, msg).catch((err: Error) => {
      this.#o.log.warn({ device, err: err.message }, 'ota: cannot reach device; retrying');
    });
    this.#armRetry(j);
  }

  #begin(j: ActiveJob, device: string): void {
    j.devices.set(device, 'running');
    this.#send(j, device, {
      v: 1,
      type: 'begin',
      jobId: j.job.jobId,
      manifest: j.job.manifest,
      ...(j.job.force ? { force: j.job.force } : {}),
    });
  }

  /** A device answered on its LAN ota/status topic. */
  handleDeviceStatus(deviceId: string, raw: unknown): void {
    const r = LocalOtaStatusSchema.safeParse(raw);
    if (!r.success) return;
    const s: LocalOtaStatus = r.data;
    const j = this.#jobs.get(s.jobId);
    if (!j?.devices.has(deviceId)) return;
    this.#status(j, { ...s, target: deviceId });
    if (TERMINAL.has(s.phase)) {
      j.devices.set(deviceId, 'done');
      this.#stats.devicesDone++;
      if (j.self === 'pending') this.#maybeInstallSelf(j);
      else if ([...j.devices.values()].every((o) => o === 'done')) this.#finish(j);
      return;
    }
    if (s.phase === 'transferring' && s.next !== undefined) {
      const image = j.image ?? j.files.readImage().subarray(0, j.job.manifest.size);
      j.image = image;
      const size = j.job.manifest.chunkSize;
      const data = image.subarray(s.next * size, (s.next + 1) * size);
      this.#send(j, deviceId, { v: 1, type: 'chunk', jobId: j.job.jobId, index: s.next, data: data.toString('base64') });
    }
  }

  #finish(j: ActiveJob): void {
    if (j.retry !== null) this.#o.timers.clearTimeout(j.retry);
    this.#jobs.delete(j.job.jobId);
    this.#finished.push(j.job.jobId);
    saveFinished(this.#o.dir, this.#finished);
    j.files.remove();
    this.#o.log.info({ jobId: j.job.jobId }, 'ota: job finished on every target');
  }

  stop(): void {
    this.#stopped = true;
    for (const j of this.#jobs.values()) if (j.retry !== null) this.#o.timers.clearTimeout(j.retry);
  }
}
