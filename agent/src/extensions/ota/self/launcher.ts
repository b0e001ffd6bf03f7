// The launcher the service files run: picks the slot to start (boot-plan.ts) and imports that
// bundle into this same process (one node process on the gateway, not a supervisor and a child),
// passing it the agent's arguments plus `--slots DIR --slot X --trial-ms MS`. A bundle on trial is
// watched from here too, for what the bundle cannot report itself: if it is still on trial
// `trialMs` + BACKSTOP_GRACE_MS after the process started (hung, or never got far enough to run its
// health check) it is rolled back and the process exits 1; when it exits on trial, the exit code
// is recorded for the rollback detail, and a usage/config exit (2/3, which the systemd unit does not
// restart) becomes 1 so the supervisor starts again and the launcher can fall back.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type BootPlan, planBoot, rollBack } from './boot-plan';
import { loadSlotState, saveSlotState } from './slot-state';

/** After the agent's own health-check deadline: room for it to roll back and stop by itself. */
export const BACKSTOP_GRACE_MS = 5_000;
/** Exit codes the systemd unit does not restart (usage, invalid config): turned into 1 on trial. */
const NOT_RESTARTED = new Set([2, 3]);

export interface LauncherOptions {
  slotsDir: string;
  factoryFile: string;
  maxAttempts: number;
  trialMs: number;
  /** passed to the agent before the launcher's own `--slots … --slot … --trial-ms …` */
  agentArgs: string[];
  log: (line: string) => void;
}

/** `node <factory> --version`: the packaged bundle's version, asked only when seeding a slot. */
export function askBundleVersion(file: string): string {
  const out = execFileSync(process.execPath, [file, '--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(out))
    throw new Error(`${file} --version printed ${JSON.stringify(out.slice(0, 80))}, not a version`);
  return out;
}

function watchTrial(o: LauncherOptions, plan: BootPlan): void {
  const stillOnTrial = () => {
    const s = loadSlotState(o.slotsDir);
    return s.ok && s.state.pending?.slot === plan.slot ? s.state : null;
  };
  const backstop = setTimeout(
    () => {
      const state = stillOnTrial();
      if (!state) return;
      rollBack(o.slotsDir, state, `${plan.version} did not pass its health check within ${o.trialMs} ms of starting`, Date.now());
      o.log(
        `${plan.version} (slot ${plan.slot}) still on trial after ${o.trialMs + BACKSTOP_GRACE_MS} ms: rolled back; exiting for a restart`,
      );
      process.exit(1);
    },
    Math.max(0, o.trialMs + BACKSTOP_GRACE_MS - performance.now()),
  );
  backstop.unref();
  process.on('exit', (code) => {
    const state = stillOnTrial();
    if (!state?.pending) return;
    saveSlotState(o.slotsDir, { ...state, pending: { ...state.pending, lastExit: code } });
    if (NOT_RESTARTED.has(code)) process.exitCode = 1;
  });
}

/** Plans the start, then runs the chosen bundle in this process. */
export async function runLauncher(o: LauncherOptions): Promise<void> {
  const plan = planBoot({
    slotsDir: o.slotsDir,
    factoryFile: o.factoryFile,
    factoryVersion: () => askBundleVersion(o.factoryFile),
    maxAttempts: o.maxAttempts,
    now: () => Date.now(),
  });
  for (const note of plan.notes) o.log(note);
  if (plan.trial) watchTrial(o, plan);
  // The bundle's own command line reads process.argv.slice(2).
  process.argv = [
    process.argv[0] ?? process.execPath,
    plan.file,
    ...o.agentArgs,
    '--slots',
    o.slotsDir,
    '--slot',
    plan.slot,
    '--trial-ms',
    String(o.trialMs),
  ];
  await import(pathToFileURL(plan.file).href);
}
