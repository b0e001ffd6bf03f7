// Runs staged rollouts on top of the OTA server: each stage is one retained OTA job per gateway
// (jobId `<rollout>-s<stage>-<n>`), each target's statuses update its outcome, and after every
// change rollout-plan.ts decides whether to wait, start the next stage, complete or halt. Pause
// stops serving chunks and starting stages; abort and halt also clear the gateways' retained jobs.
// Every change is written to `<dir>/<id>.json`; on open, running rollouts carry on where they were.
import { createHash, randomBytes } from 'node:crypto';
import {
  isFinalOutcome,
  type OtaJob,
  type OtaStatus,
  type RolloutAction,
  type RolloutRequestSchema,
  type RolloutTargetView,
  type RolloutView,
  type TargetOutcome,
} from '@poste/protocol';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { OtaBus } from './ota-bus';
import { type OtaServer, startOtaServer } from './ota-server';
import { RolloutFiles, type RolloutRecord } from './rollout-files';
import { decide, planStages, stageViews } from './rollout-plan';

export type RolloutResult = { ok: true; rollout: RolloutView } | { ok: false; status: 400 | 404 | 409; message: string };

export interface RolloutManagerOptions {
  bus: OtaBus;
  log: Logger;
  /** where rollouts persist (`<dataDir>/rollouts`); without it they live in memory only */
  dir?: string;
  now?: () => number;
  /** how often device deadlines are checked (default 1 s) */
  tickMs?: number;
}

export interface RolloutManager {
  create(request: z.output<typeof RolloutRequestSchema>, by: string): Promise<RolloutResult>;
  list(): RolloutView[];
  get(id: string): RolloutView | undefined;
  act(id: string, action: RolloutAction, by: string): Promise<RolloutResult>;
  /** the OTA server the rollouts run on (stats, tests) */
  readonly ota: OtaServer;
  /** stops timers and the status subscription, writes what is pending; leaves jobs in place (a restart carries on) */
  close(): Promise<void>;
}

interface Live {
  record: RolloutRecord;
  /** held while the rollout may still serve chunks; null once it finished (bounded memory and disk) */
  image: Buffer | null;
  /** a write is in flight / another is wanted after it */
  saving: Promise<void>;
}

interface JobRef {
  rollout: string;
  stage: number;
  gateway: string;
}

const STOPPED = new Set(['halted', 'aborted', 'completed']);

export function jobIdOf(rollout: string, stage: number, gatewayIndex: number): string {
  return `${rollout}-s${stage}-${gatewayIndex}`;
}

function view(r: RolloutRecord): RolloutView {
  const count = (pred: (t: RolloutTargetView) => boolean) => r.targets.filter(pred).length;
  const m = r.manifest;
  return {
    id: r.id,
    ...(r.name !== undefined ? { name: r.name } : {}),
    state: r.state,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    image: { family: m.family, model: m.model, version: m.version, size: m.size, sha256: m.sha256 },
    policy: r.policy,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    stage: r.stage,
    stages: stageViews(
      r.targets,
      r.stage,
      r.stageStartedAt.map((s) => s ?? undefined),
      r.state === 'halted' || r.state === 'aborted',
    ),
    counts: {
      total: r.targets.length,
      committed: count((t) => t.outcome === 'committed'),
      failed: count((t) => isFinalOutcome(t.outcome) && t.outcome !== 'committed' && t.outcome !== 'skipped'),
      inProgress: count((t) => !isFinalOutcome(t.outcome) && t.outcome !== 'waiting'),
      waiting: count((t) => t.outcome === 'waiting' || t.outcome === 'skipped'),
    },
    targets: r.targets,
  };
}

/** The gateways of a stage in first-seen order, each with its targets' device ids. */
function stageJobs(r: RolloutRecord, stage: number): Array<{ gateway: string; jobId: string; devices: string[] }> {
  const byGateway = new Map<string, string[]>();
  for (const t of r.targets) if (t.stage === stage) byGateway.set(t.gateway, [...(byGateway.get(t.gateway) ?? []), t.device]);
  return [...byGateway].map(([gateway, devices], i) => ({ gateway, jobId: jobIdOf(r.id, stage, i), devices }));
}

export async function openRolloutManager(o: RolloutManagerOptions): Promise<RolloutManager> {
  const now = o.now ?? (() => Date.now());
  const files = o.dir !== undefined ? new RolloutFiles(o.dir) : undefined;
  const live = new Map<string, Live>();
  const jobs = new Map<string, JobRef>();

  const indexJobs = (r: RolloutRecord) => {
    for (let s = 0; s <= r.stage; s++) for (const j of stageJobs(r, s)) jobs.set(j.jobId, { rollout: r.id, stage: s, gateway: j.gateway });
  };

  if (files) {
    await files.ensureDir();
    for (const { record, image } of await files.loadAll((file, reason) => o.log.error({ file, reason }, 'rollouts: record not loaded'))) {
      live.set(record.id, { record, image, saving: Promise.resolve() });
      indexJobs(record);
    }
  }

  const save = (l: Live): Promise<void> => {
    if (!files) return Promise.resolve();
    // Chained: writes land in order; the record written is the newest at the time of writing.
    l.saving = l.saving
      .then(() => files.saveRecord(l.record))
      .catch((err: Error) => o.log.error({ rollout: l.record.id, err: err.message }, 'rollouts: record write failed'));
    return l.saving;
  };

  const ota = await startOtaServer({
    bus: o.bus,
    log: o.log,
    imageOf: (jobId) => {
      const ref = jobs.get(jobId);
      const l = ref && live.get(ref.rollout);
      return l?.image ? { manifest: l.record.manifest, image: l.image } : undefined;
    },
    serving: (jobId) => {
      const ref = jobs.get(jobId);
      return ref !== undefined && live.get(ref.rollout)?.record.state === 'running';
    },
    onStatus: (gateway, status) => onStatus(gateway, status),
  });

  async function publishStage(l: Live, stage: number): Promise<void> {
    const r = l.record;
    for (const j of stageJobs(r, stage)) {
      jobs.set(j.jobId, { rollout: r.id, stage, gateway: j.gateway });
      const job: OtaJob = {
        v: 1,
        jobId: j.jobId,
        rolloutId: r.id,
        manifest: r.manifest,
        targets: j.devices,
        ...(r.force ? { force: r.force } : {}),
        issuedAt: now(),
      };
      await ota.publishJob(j.gateway, job);
    }
  }

  async function startStage(l: Live, stage: number): Promise<void> {
    const r = l.record;
    r.stage = stage;
    r.stageStartedAt[stage] = now();
    for (const t of r.targets) if (t.stage === stage && t.outcome === 'waiting') Object.assign(t, { outcome: 'sent', updatedAt: now() });
    r.updatedAt = now();
    await save(l);
    await publishStage(l, stage);
    o.log.info({ rollout: r.id, stage }, 'rollouts: stage started');
  }

  /** Halt, abort or complete: nothing more starts, chunks stop, retained jobs are cleared. */
  async function stop(l: Live, state: 'halted' | 'aborted' | 'completed', reason?: string): Promise<void> {
    const r = l.record;
    r.state = state;
    delete r.pausedAt;
    if (reason !== undefined) r.reason = reason;
    for (const t of r.targets) if (t.outcome === 'waiting') Object.assign(t, { outcome: 'skipped', updatedAt: now() });
    r.updatedAt = now();
    await save(l);
    for (const j of stageJobs(r, r.stage)) await ota.clearJob(j.gateway);
    l.image = null;
    await files?.removeImage(r.id);
    o.log.info({ rollout: r.id, state, reason }, 'rollouts: stopped');
  }

  async function evaluate(l: Live): Promise<void> {
    const r = l.record;
    if (STOPPED.has(r.state)) return;
    const d = decide(r.targets, r.stage, r.policy);
    if (d.kind === 'halt') await stop(l, 'halted', d.reason);
    else if (r.state !== 'running') return;
    else if (d.kind === 'complete') await stop(l, 'completed');
    else if (d.kind === 'advance') await startStage(l, d.stage);
  }

  // Evaluations run one at a time, so two statuses never start the same stage twice.
  let queue = Promise.resolve();
  const serially = (step: () => Promise<void>): Promise<void> => {
    queue = queue.then(step).catch((err: Error) => o.log.error({ err: err.message }, 'rollouts: step failed'));
    return queue;
  };

  function onStatus(gateway: string, s: OtaStatus): void {
    const ref = jobs.get(s.jobId);
    if (!ref || ref.gateway !== gateway || s.target === undefined) return;
    const l = live.get(ref.rollout);
    const t = l?.record.targets.find((x) => x.stage === ref.stage && x.gateway === gateway && x.device === s.target);
    if (!l || !t || s.phase === 'downloading') return;
    // A final outcome stays, except a timeout the target later contradicts (the record tells the truth).
    if (isFinalOutcome(t.outcome) && t.outcome !== 'timedOut') return;
    const phaseChanged = t.outcome !== s.phase;
    Object.assign(t, {
      outcome: s.phase satisfies TargetOutcome,
      updatedAt: s.ts,
      ...(s.detail !== undefined ? { detail: s.detail } : {}),
      ...(s.running !== undefined ? { running: s.running } : {}),
    });
    // Chunk-by-chunk `transferring` statuses change nothing worth a write.
    if (!phaseChanged) return;
    l.record.updatedAt = now();
    void serially(async () => {
      await save(l);
      await evaluate(l);
    });
  }

  function tick(): void {
    for (const l of live.values()) {
      const r = l.record;
      if (r.state !== 'running') continue;
      const started = r.stageStartedAt[r.stage];
      if (started == null || now() < started + r.policy.deviceTimeoutMs) continue;
      const late = r.targets.filter((t) => t.stage === r.stage && !isFinalOutcome(t.outcome));
      if (late.length === 0) continue;
      for (const t of late)
        Object.assign(t, { outcome: 'timedOut', updatedAt: now(), detail: `no final outcome within ${r.policy.deviceTimeoutMs} ms` });
      void serially(async () => {
        await save(l);
        await evaluate(l);
      });
    }
  }
  const timer = setInterval(tick, o.tickMs ?? 1_000);
  timer.unref();

  // Carry on after a restart: running rollouts publish their current stage again (an agent that
  // already has the job continues it, one that finished it ignores it) and are re-evaluated.
  for (const l of live.values()) {
    if (l.record.state !== 'running') continue;
    await publishStage(l, l.record.stage);
    await serially(() => evaluate(l));
    o.log.info({ rollout: l.record.id, stage: l.record.stage }, 'rollouts: resumed after restart');
  }

  return {
    ota,
    list: () => [...live.values()].map((l) => view(l.record)).sort((a, b) => b.createdAt - a.createdAt),
    get: (id) => {
      const l = live.get(id);
      return l ? view(l.record) : undefined;
    },
    async create(req, by) {
      const image = Buffer.from(req.image, 'base64');
      if (image.byteLength !== req.manifest.size) {
        return { ok: false, status: 400, message: `image is ${image.byteLength} bytes; the manifest says ${req.manifest.size}` };
      }
      if (createHash('sha256').update(image).digest('hex') !== req.manifest.sha256) {
        return { ok: false, status: 400, message: 'image sha256 does not match the manifest' };
      }
      // `$gateway` is the agent itself (it installs only gateway-agent bundles; devices never take one): a
      // mismatch would only come back refused from every target, so it is refused here, before anything is sent.
      const mismatch = req.targets.find((t) => (t.device === '$gateway') !== (req.manifest.family === 'gateway-agent'));
      if (mismatch) {
        return {
          ok: false,
          status: 400,
          message: `${mismatch.gateway}/${mismatch.device}: a ${req.manifest.family} image goes to ${req.manifest.family === 'gateway-agent' ? 'GATEWAY/$gateway targets only' : 'devices, not to GATEWAY/$gateway (the agent takes gateway-agent images)'}`,
        };
      }
      const seen = new Set<string>();
      for (const t of req.targets) {
        const key = `${t.gateway}/${t.device}`;
        if (seen.has(key)) return { ok: false, status: 400, message: `target ${key} given twice` };
        seen.add(key);
      }
      const busy = req.targets.find((t) =>
        [...live.values()].some(
          (l) => !STOPPED.has(l.record.state) && l.record.targets.some((x) => x.gateway === t.gateway && x.device === t.device),
        ),
      );
      if (busy) return { ok: false, status: 409, message: `${busy.gateway}/${busy.device} is in a rollout that has not finished` };
      const stages = planStages(req.targets.length, req.policy);
      const id = `r-${randomBytes(4).toString('hex')}`;
      const record: RolloutRecord = {
        v: 1,
        id,
        ...(req.name !== undefined ? { name: req.name } : {}),
        state: 'running',
        manifest: req.manifest,
        ...(req.force ? { force: req.force } : {}),
        policy: req.policy,
        createdBy: by,
        createdAt: now(),
        updatedAt: now(),
        stage: 0,
        stageStartedAt: [],
        targets: req.targets.map((t, i) => ({ gateway: t.gateway, device: t.device, stage: stages[i]!, outcome: 'waiting' })),
      };
      const l: Live = { record, image, saving: Promise.resolve() };
      if (files) await files.saveImage(id, image);
      live.set(id, l);
      await serially(() => startStage(l, 0));
      o.log.info({ rollout: id, by, targets: record.targets.length, version: req.manifest.version }, 'rollouts: started');
      return { ok: true, rollout: view(record) };
    },
    async act(id, action, by) {
      const l = live.get(id);
      if (!l) return { ok: false, status: 404, message: `no rollout ${id}` };
      const r = l.record;
      if (STOPPED.has(r.state)) return { ok: false, status: 409, message: `rollout ${id} is ${r.state}` };
      if (action === 'pause' && r.state !== 'running') return { ok: false, status: 409, message: `rollout ${id} is ${r.state}` };
      if (action === 'resume' && r.state !== 'paused') return { ok: false, status: 409, message: `rollout ${id} is ${r.state}` };
      await serially(async () => {
        if (action === 'pause') {
          r.state = 'paused';
          r.pausedAt = now();
          r.updatedAt = now();
          await save(l);
        } else if (action === 'resume') {
          // Time spent paused does not count against the targets' deadline.
          const started = r.stageStartedAt[r.stage];
          if (started != null && r.pausedAt !== undefined) r.stageStartedAt[r.stage] = started + (now() - r.pausedAt);
          r.state = 'running';
          delete r.pausedAt;
          r.updatedAt = now();
          await save(l);
          await evaluate(l);
        } else {
          await stop(l, 'aborted', `aborted by ${by}`);
        }
      });
      o.log.info({ rollout: id, action, by }, 'rollouts: technician action');
      return { ok: true, rollout: view(r) };
    },
    async close() {
      clearInterval(timer);
      ota.close();
      await queue;
      await Promise.all([...live.values()].map((l) => l.saving));
    },
  };
}
