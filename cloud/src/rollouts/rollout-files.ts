// A rollout on disk, in the cloud's data dir (`<dataDir>/rollouts/`): `<id>.img` (the image,
// written once, removed when the rollout finishes: the record keeps its manifest) and `<id>.json` (the record: state, stage, every target's outcome), each replaced
// atomically (temp file, fsync, rename) so a crash leaves the old or the new version, never half.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FirmwareManifestSchema,
  ForceSchema,
  RolloutIdSchema,
  RolloutPolicySchema,
  RolloutStateSchema,
  RolloutTargetViewSchema,
  TimestampSchema,
} from '@poste/protocol';
import { z } from 'zod';

export const RolloutRecordSchema = z
  .object({
    v: z.literal(1),
    id: RolloutIdSchema,
    name: z.string().optional(),
    state: RolloutStateSchema,
    reason: z.string().optional(),
    manifest: FirmwareManifestSchema,
    force: ForceSchema.optional(),
    policy: RolloutPolicySchema,
    createdBy: z.string(),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    stage: z.number().int().min(0),
    /** when each stage started (index = stage), shifted forward by the time spent paused */
    stageStartedAt: z.array(TimestampSchema.nullable()),
    /** while paused: since when */
    pausedAt: TimestampSchema.optional(),
    targets: z.array(RolloutTargetViewSchema).min(1),
  })
  .strict();
export type RolloutRecord = z.infer<typeof RolloutRecordSchema>;

async function writeAtomically(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

export interface LoadedRollout {
  record: RolloutRecord;
  /** null for a finished rollout (its image is no longer kept) */
  image: Buffer | null;
}

export class RolloutFiles {
  constructor(readonly dir: string) {}

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  saveImage(id: string, image: Buffer): Promise<void> {
    return writeAtomically(join(this.dir, `${id}.img`), image);
  }

  removeImage(id: string): Promise<void> {
    return rm(join(this.dir, `${id}.img`), { force: true });
  }

  saveRecord(record: RolloutRecord): Promise<void> {
    return writeAtomically(join(this.dir, `${record.id}.json`), `${JSON.stringify(record)}\n`);
  }

  /** Every rollout kept here; a record that does not parse is reported, not silently dropped. */
  async loadAll(onBad: (file: string, reason: string) => void): Promise<LoadedRollout[]> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    const out: LoadedRollout[] = [];
    for (const name of names.sort()) {
      const file = join(this.dir, name);
      try {
        const parsed = RolloutRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          onBad(file, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
          continue;
        }
        const finished = ['completed', 'halted', 'aborted'].includes(parsed.data.state);
        out.push({ record: parsed.data, image: finished ? null : await readFile(join(this.dir, `${parsed.data.id}.img`)) });
      } catch (err) {
        onBad(file, (err as Error).message);
      }
    }
    return out;
  }
}
