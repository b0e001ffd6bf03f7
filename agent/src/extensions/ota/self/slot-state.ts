// The agent's own A/B layout on disk: `<slots>/a/agent.mjs`, `<slots>/b/agent.mjs` and
// `<slots>/state.json` (which slot boots, what each holds, a new slot on trial, the last outcome
// of a self-update). Shared by the launcher (which slot to start) and the agent (install, commit,
// roll back). Every write is temp file + fsync + rename + fsync of the directory, so a power cut
// leaves the old state or the new one, never half; a slot file is only named in the state once it
// is whole and its sha256 checked, so the slot that boots is always a complete one.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
// zod/mini: the launcher loads this before the agent, and the classic zod API would add ~700 KB to it.
import * as z from 'zod/mini';

export const AgentSlotSchema = z.enum(['a', 'b']);
export type AgentSlot = z.infer<typeof AgentSlotSchema>;

const text = (max = 500) => z.string().check(z.minLength(1), z.maxLength(max));

const SlotContentSchema = z.strictObject({ version: text(64), sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)) });
export type SlotContent = z.infer<typeof SlotContentSchema>;

export const SelfOutcomeSchema = z.strictObject({
  jobId: text(64),
  phase: z.enum(['committed', 'rolledBack', 'refused', 'failed']),
  detail: z.optional(z.string().check(z.maxLength(500))),
  /** the version running after this outcome */
  running: text(64),
  ts: z.number(),
  /** published north on a connected link (it is published again whenever the retained job returns) */
  reported: z.boolean(),
});
export type SelfOutcome = z.infer<typeof SelfOutcomeSchema>;

export const SlotStateSchema = z.strictObject({
  v: z.literal(1),
  /** the committed slot: what boots when nothing is on trial */
  active: AgentSlotSchema,
  /** null = nothing bootable there (never written, being written, or rolled back) */
  slots: z.strictObject({ a: z.nullable(SlotContentSchema), b: z.nullable(SlotContentSchema) }),
  /** a new bundle written and verified, booted on trial until its health check commits it */
  pending: z.optional(
    z.strictObject({
      slot: AgentSlotSchema,
      jobId: text(64),
      version: text(64),
      /** starts so far (the launcher counts each before booting it) */
      attempts: z.number().check(z.int(), z.minimum(0)),
      /** exit code of the last start that ended on trial */
      lastExit: z.optional(z.number().check(z.int())),
    }),
  ),
  /** the slot active before the last commit */
  previous: z.optional(AgentSlotSchema),
  last: z.optional(SelfOutcomeSchema),
  /** sha256 of the packaged bundle the slots were last seeded from (a package upgrade re-seeds) */
  factorySha256: z.optional(z.string()),
  /** forced downgrades: who, why, from and to (the newest 100) */
  audit: z
    .array(z.strictObject({ ts: z.number(), jobId: z.string(), from: z.string(), to: z.string(), by: z.string(), reason: z.string() }))
    .check(z.maxLength(100)),
});
export type SlotState = z.infer<typeof SlotStateSchema>;

export const otherSlot = (s: AgentSlot): AgentSlot => (s === 'a' ? 'b' : 'a');
export const slotFile = (slotsDir: string, s: AgentSlot): string => join(slotsDir, s, 'agent.mjs');
const statePath = (slotsDir: string): string => join(slotsDir, 'state.json');

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Thrown by a slot write whose (test) power was cut part-way. */
export class SlotPowerCut extends Error {
  constructor() {
    super('power cut while writing a slot');
  }
}

/** temp + fsync + rename + fsync(dir). `cutAfterBytes` (tests) writes only that many bytes of the temp file, then throws SlotPowerCut. */
export function writeFileAtomic(path: string, bytes: Uint8Array, cutAfterBytes?: number): void {
  const dir = join(path, '..');
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  const cut = cutAfterBytes !== undefined && cutAfterBytes < bytes.byteLength;
  try {
    const n = cut ? cutAfterBytes : bytes.byteLength;
    let off = 0;
    while (off < n) off += writeSync(fd, bytes, off, n - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (cut) throw new SlotPowerCut();
  renameSync(tmp, path);
  fsyncDir(dir);
}

export type LoadedState = { ok: true; state: SlotState } | { ok: false; reason: string };

export function loadSlotState(slotsDir: string): LoadedState {
  let text: string;
  try {
    text = readFileSync(statePath(slotsDir), 'utf8');
  } catch (err) {
    return { ok: false, reason: `cannot read ${statePath(slotsDir)}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${statePath(slotsDir)}: not JSON: ${(err as Error).message}` };
  }
  const r = SlotStateSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, reason: `${statePath(slotsDir)}: ${i?.path.join('.') || '(root)'}: ${i?.message}` };
  }
  return { ok: true, state: r.data };
}

export function saveSlotState(slotsDir: string, state: SlotState): void {
  writeFileAtomic(statePath(slotsDir), Buffer.from(JSON.stringify(SlotStateSchema.parse(state))));
}

/** The slot file's bytes when they are whole and match what the state says the slot holds, else null. */
export function readVerifiedSlot(slotsDir: string, state: SlotState, s: AgentSlot): Buffer | null {
  const content = state.slots[s];
  if (!content) return null;
  try {
    const bytes = readFileSync(slotFile(slotsDir, s));
    return sha256Of(bytes) === content.sha256 ? bytes : null;
  } catch {
    return null;
  }
}

/** Removes a slot's file (after a rollback the bad bundle is not kept). */
export function clearSlotFile(slotsDir: string, s: AgentSlot): void {
  rmSync(slotFile(slotsDir, s), { force: true });
  rmSync(`${slotFile(slotsDir, s)}.tmp`, { force: true });
}

/** The version the committed slot holds. */
export function runningVersion(state: SlotState): string {
  return state.slots[state.active]?.version ?? 'unknown';
}
