// Which agent bundle to start, decided by the launcher before every start from the slot state:
// a new bundle on trial while it has starts left, else the committed slot; a trial that used up
// its starts is rolled back here (the agent it falls back to reports that upstream). A slot whose
// file does not match its recorded sha256 is never started: the other slot, or the packaged
// bundle, takes its place. The packaged (factory) bundle seeds the slots on the first start and
// again after a package upgrade.
import { readFileSync } from 'node:fs';
import {
  type AgentSlot,
  clearSlotFile,
  loadSlotState,
  otherSlot,
  readVerifiedSlot,
  runningVersion,
  type SlotState,
  saveSlotState,
  sha256Of,
  slotFile,
  writeFileAtomic,
} from './slot-state';

export interface BootPlanOptions {
  slotsDir: string;
  /** the bundle the package installed (read-only; seeds the slots) */
  factoryFile: string;
  /** the packaged bundle's version; asked only when seeding (the launcher runs `node <factory> --version`) */
  factoryVersion: () => string;
  /** starts a new bundle gets to pass its health check before it is rolled back */
  maxAttempts: number;
  now: () => number;
}

export interface BootPlan {
  slot: AgentSlot;
  file: string;
  version: string;
  /** started on trial: it must pass its health check (or be rolled back) */
  trial: boolean;
  /** what the planner changed, for the launcher's log */
  notes: string[];
}

/** Records a trial's end as a rollback: the slot is emptied and the outcome left for the agent that runs next to report. */
export function rollBack(slotsDir: string, state: SlotState, detail: string, now: number): SlotState {
  const p = state.pending;
  if (!p) return state;
  const next: SlotState = { ...state, slots: { ...state.slots, [p.slot]: null } };
  delete next.pending;
  next.last = {
    jobId: p.jobId,
    phase: 'rolledBack',
    detail: detail.slice(0, 500),
    running: runningVersion(next),
    ts: now,
    reported: false,
  };
  saveSlotState(slotsDir, next);
  clearSlotFile(slotsDir, p.slot);
  return next;
}

function seed(o: BootPlanOptions, factory: Buffer, into: AgentSlot, prior: SlotState | null): SlotState {
  const sha256 = sha256Of(factory);
  const version = o.factoryVersion();
  // The slot stops being bootable in the state before its bytes change.
  if (prior?.slots[into]) saveSlotState(o.slotsDir, { ...prior, slots: { ...prior.slots, [into]: null } });
  writeFileAtomic(slotFile(o.slotsDir, into), factory);
  const state: SlotState = {
    v: 1,
    active: into,
    slots: { a: null, b: null, ...(prior ? prior.slots : {}), [into]: { version, sha256 } },
    ...(prior ? { previous: prior.active } : {}),
    ...(prior?.last ? { last: prior.last } : {}),
    factorySha256: sha256,
    audit: prior?.audit ?? [],
  };
  saveSlotState(o.slotsDir, state);
  return state;
}

export function planBoot(o: BootPlanOptions): BootPlan {
  const notes: string[] = [];
  const factory = readFileSync(o.factoryFile);
  const factorySha = sha256Of(factory);
  const loaded = loadSlotState(o.slotsDir);
  let state: SlotState;
  if (!loaded.ok) {
    if (!/ENOENT/.test(loaded.reason)) notes.push(`slot state unusable (${loaded.reason}); seeding from the packaged bundle`);
    state = seed(o, factory, 'a', null);
    notes.push(`slot a seeded with the packaged bundle ${runningVersion(state)}`);
  } else {
    state = loaded.state;
  }

  if (state.factorySha256 !== factorySha) {
    // A package upgrade (or downgrade) is the administrator's explicit choice: it replaces what runs.
    if (state.pending) {
      state = {
        ...state,
        last: {
          jobId: state.pending.jobId,
          phase: 'failed',
          detail: 'superseded by a package upgrade',
          running: runningVersion(state),
          ts: o.now(),
          reported: false,
        },
      };
      delete state.pending;
    }
    state = seed(o, factory, otherSlot(state.active), state);
    notes.push(`the packaged bundle changed: slot ${state.active} now holds it (${runningVersion(state)})`);
  }

  const p = state.pending;
  if (p) {
    if (!readVerifiedSlot(o.slotsDir, state, p.slot)) {
      state = rollBack(o.slotsDir, state, `${p.version} in slot ${p.slot} does not match its recorded sha256; not started`, o.now());
      notes.push(`pending slot ${p.slot} is not intact: rolled back`);
    } else if (p.attempts >= o.maxAttempts) {
      const exit = p.lastExit !== undefined ? ` (last exit code ${p.lastExit})` : '';
      state = rollBack(
        o.slotsDir,
        state,
        `${p.version} did not pass its health check in ${p.attempts} starts${exit}; back on ${runningVersion(state)}`,
        o.now(),
      );
      notes.push(`pending ${p.version} used up its ${o.maxAttempts} starts: rolled back to slot ${state.active}`);
    } else {
      const next: SlotState = { ...state, pending: { ...p, attempts: p.attempts + 1 } };
      delete next.pending?.lastExit;
      saveSlotState(o.slotsDir, next);
      notes.push(`starting ${p.version} from slot ${p.slot} on trial (start ${p.attempts + 1} of ${o.maxAttempts})`);
      return { slot: p.slot, file: slotFile(o.slotsDir, p.slot), version: p.version, trial: true, notes };
    }
  }

  if (!readVerifiedSlot(o.slotsDir, state, state.active)) {
    const other = otherSlot(state.active);
    if (readVerifiedSlot(o.slotsDir, state, other)) {
      notes.push(`active slot ${state.active} is not intact; starting slot ${other}`);
      state = { ...state, active: other, slots: { ...state.slots, [state.active]: null } };
      saveSlotState(o.slotsDir, state);
    } else {
      notes.push(`no intact slot; re-seeding slot ${state.active} from the packaged bundle`);
      state = seed(o, factory, state.active, { ...state, slots: { a: null, b: null } });
    }
  }
  return { slot: state.active, file: slotFile(o.slotsDir, state.active), version: runningVersion(state), trial: false, notes };
}
