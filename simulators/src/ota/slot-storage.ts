// A device's flash as the OTA device side sees it: two image slots (A and B) and a small boot
// environment (which slot boots, what each slot holds, a transfer in progress, the audit trail).
// On disk, so a power cut is a process that stops writing at any byte and a new device object
// that boots from what is there.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const SlotNameSchema = z.enum(['A', 'B']);
export type SlotName = z.infer<typeof SlotNameSchema>;

const SlotInfoSchema = z.object({
  /** version the slot holds; absent while it is being written or after a failed write */
  version: z.string().optional(),
  sha256: z.string().optional(),
  size: z.number().int().min(0).default(0),
  /** bootable: the whole image is written and its hash verified */
  valid: z.boolean(),
});

export const BootEnvSchema = z.object({
  v: z.literal(1),
  active: SlotNameSchema,
  slots: z.object({ A: SlotInfoSchema, B: SlotInfoSchema }),
  /** a verified new slot booted once for its health check; not yet the default */
  trial: SlotNameSchema.optional(),
  /** a transfer into the inactive slot: chunks 0…next−1 are written (fsynced) */
  transfer: z
    .object({
      jobId: z.string(),
      manifest: z.unknown(),
      force: z.unknown().optional(),
      slot: SlotNameSchema,
      next: z.number().int().min(0),
    })
    .optional(),
  audit: z
    .array(z.object({ ts: z.number(), jobId: z.string(), from: z.string(), to: z.string(), by: z.string(), reason: z.string() }))
    .max(100)
    .default([]),
});
export type BootEnv = z.infer<typeof BootEnvSchema>;

/** Thrown by a storage whose power was cut: the write stopped part-way. */
export class PowerCut extends Error {
  constructor() {
    super('power cut');
  }
}

export interface SlotStorageOptions {
  dir: string;
  /** version of the factory image in slot A */
  factoryVersion: string;
  /** for tests: power is cut once this many more image bytes have been written (part of a write lands) */
  powerCutAfterBytes?: number;
}

/** The flash of one simulated device. Image writes are fsynced before the boot env records them. */
export class SlotStorage {
  readonly dir: string;
  #budget: number | undefined;

  constructor(opts: SlotStorageOptions) {
    this.dir = opts.dir;
    this.#budget = opts.powerCutAfterBytes;
    mkdirSync(this.dir, { recursive: true });
    try {
      readFileSync(this.#envPath);
    } catch {
      this.saveEnv({
        v: 1,
        active: 'A',
        slots: { A: { version: opts.factoryVersion, size: 0, valid: true }, B: { size: 0, valid: false } },
        audit: [],
      });
    }
  }

  get #envPath(): string {
    return join(this.dir, 'bootenv.json');
  }

  loadEnv(): BootEnv {
    return BootEnvSchema.parse(JSON.parse(readFileSync(this.#envPath, 'utf8')));
  }

  /** Atomic (temp + fsync + rename): a power cut leaves the old or the new environment, never half. */
  saveEnv(env: BootEnv): void {
    const tmp = `${this.#envPath}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(env));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#envPath);
  }

  /** Writes image bytes into a slot at `offset` and fsyncs; a cut power writes only part and throws PowerCut. */
  writeSlot(slot: SlotName, offset: number, data: Buffer): void {
    let bytes = data;
    let cut = false;
    if (this.#budget !== undefined) {
      if (bytes.byteLength > this.#budget) {
        bytes = bytes.subarray(0, this.#budget);
        cut = true;
      }
      this.#budget -= bytes.byteLength;
    }
    const path = join(this.dir, `slot-${slot}.bin`);
    let h: number;
    try {
      h = openSync(path, 'r+'); // positional writes: 'a' would append whatever the offset
    } catch {
      h = openSync(path, 'w+');
    }
    try {
      writeSync(h, bytes, 0, bytes.byteLength, offset);
      fsyncSync(h);
    } finally {
      closeSync(h);
    }
    if (cut) throw new PowerCut();
  }

  readSlot(slot: SlotName, size: number): Buffer {
    try {
      return readFileSync(join(this.dir, `slot-${slot}.bin`)).subarray(0, size);
    } catch {
      return Buffer.alloc(0);
    }
  }
}
