// One OTA job's files in the agent's data dir: the job, the image as far as it is downloaded, and
// how far that is. Chunks are fsynced before `next` moves past them, so after a crash or a power
// cut the download resumes from the last good chunk.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type OtaJob, OtaJobSchema } from '@poste/protocol';
import * as z from 'zod';

const ProgressSchema = z.object({ next: z.number().int().min(0), complete: z.boolean() });
export type JobProgress = z.infer<typeof ProgressSchema>;

const FINISHED_KEPT = 200;

/**
 * Jobs finished here (their ids, newest last, bounded): the cloud's retained job is delivered again
 * after every reconnect and must not start an update that already ran.
 */
export function loadFinished(root: string): string[] {
  try {
    return z.array(z.string()).parse(JSON.parse(readFileSync(join(root, 'finished.json'), 'utf8')));
  } catch {
    return [];
  }
}

export function saveFinished(root: string, ids: readonly string[]): void {
  mkdirSync(root, { recursive: true });
  const path = join(root, 'finished.json');
  const fd = openSync(`${path}.tmp`, 'w');
  try {
    writeSync(fd, JSON.stringify(ids.slice(-FINISHED_KEPT)));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.tmp`, path);
}

export class JobFiles {
  readonly dir: string;

  constructor(root: string, jobId: string) {
    this.dir = join(root, jobId);
    mkdirSync(this.dir, { recursive: true });
  }

  /** Jobs left by an earlier run (each with its progress). */
  static list(root: string): { job: OtaJob; progress: JobProgress }[] {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      return [];
    }
    const out: { job: OtaJob; progress: JobProgress }[] = [];
    for (const name of names) {
      if (name === 'finished.json') continue;
      try {
        const job = OtaJobSchema.parse(JSON.parse(readFileSync(join(root, name, 'job.json'), 'utf8')));
        const progress = ProgressSchema.parse(JSON.parse(readFileSync(join(root, name, 'progress.json'), 'utf8')));
        out.push({ job, progress });
      } catch {
        // A job directory without a readable job or progress never got past its first write: skip it.
      }
    }
    return out;
  }

  #atomic(name: string, text: string): void {
    const path = join(this.dir, name);
    const fd = openSync(`${path}.tmp`, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.tmp`, path);
  }

  saveJob(job: OtaJob): void {
    this.#atomic('job.json', JSON.stringify(job));
  }

  saveProgress(p: JobProgress): void {
    this.#atomic('progress.json', JSON.stringify(p));
  }

  loadProgress(): JobProgress {
    try {
      return ProgressSchema.parse(JSON.parse(readFileSync(join(this.dir, 'progress.json'), 'utf8')));
    } catch {
      return { next: 0, complete: false };
    }
  }

  writeChunk(offset: number, data: Buffer): void {
    const path = join(this.dir, 'image');
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch {
      fd = openSync(path, 'w+');
    }
    try {
      writeSync(fd, data, 0, data.byteLength, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  readImage(): Buffer {
    return readFileSync(join(this.dir, 'image'));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
