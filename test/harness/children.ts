// Every process a test starts dies with the test's process, whatever the outcome: a test that
// passes stops its children itself; one that throws stops them in its `finally`; but a test file
// that node:test kills on its timeout (SIGTERM), or that someone SIGKILLs, runs no `finally` and
// no 'exit' handler, and its influxd, broker and agent used to run on for hours, orphaned.
//
// Three layers, so that no outcome leaks:
// 1. `spawnOwned` starts a child in its own process group (detached) and kills the group, so what
//    the child started itself (a shell's commands, `ip netns exec`'s program) goes with it.
// 2. A process 'exit' handler SIGKILLs every registered group and every process marked as ours (2.)
//    when the test process exits normally with children still running (a forgotten stop()).
// 3. A guard process (plain `node -e`, its own process group) holds a pipe from this process and
//    is told each group; the kernel closes that pipe however this process dies, even by SIGKILL,
//    and the guard then kills the groups and every process marked as ours.
// "Marked as ours": every child inherits POSTE_TEST_OWNER=<token of this process> in its
// environment, so processes started by code that does not use this module (the store's influxd
// starter, a supervisor's respawns) are still found, through /proc/<pid>/environ.
import {
  type ChildProcess,
  type ChildProcessByStdio,
  type ChildProcessWithoutNullStreams,
  type SpawnOptions,
  type SpawnOptionsWithoutStdio,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
  spawn,
} from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

const OWNER_VARIABLE = 'POSTE_TEST_OWNER';

/** Process groups (leader pids) of live children started by spawnOwned. */
const groups = new Set<number>();
let guard: ChildProcess | undefined;
let ownerToken: string | undefined;

/** Pids of live processes (other than `except`) whose environment carries `marker`. Linux /proc. */
function markedProcesses(marker: string, except: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === except) continue;
    try {
      if (`\0${readFileSync(`/proc/${name}/environ`, 'latin1')}`.includes(`\0${marker}\0`)) out.push(pid);
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

// The guard's program (runs with plain node, no tsx): reads "+pgid"/"-pgid" lines (and "d<dir>":
// a scratch directory) until its stdin closes, then kills the groups left and sweeps /proc for the
// marker a few times (a process that was forking during one sweep is caught by the next), removes
// the directories still there once nothing writes to them any more, and exits.
const GUARD_SOURCE = `
const fs = require('node:fs');
const marker = '\\0' + process.argv[1] + '\\0';
const groups = new Set();
const dirs = new Set();
let buffered = '';
const kill = (pid) => { try { process.kill(pid, 'SIGKILL'); } catch {} };
const sweep = () => {
  for (const g of groups) kill(-g);
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try { if (('\\0' + fs.readFileSync('/proc/' + name + '/environ', 'latin1')).includes(marker)) kill(pid); } catch {}
  }
};
process.stdin.on('data', (d) => {
  buffered += d.toString('latin1');
  const lines = buffered.split('\\n');
  buffered = lines.pop();
  for (const l of lines) {
    if (l[0] === 'd') { dirs.add(l.slice(1)); continue; }
    if (l[0] === 'r') { dirs.delete(l.slice(1)); continue; }
    const g = Number(l.slice(1));
    if (l[0] === '+') groups.add(g); else groups.delete(g);
  }
});
const removeDirs = () => { for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch {} } };
const finish = () => { sweep(); setTimeout(sweep, 200); setTimeout(() => { sweep(); removeDirs(); process.exit(0); }, 600); };
process.stdin.on('end', finish);
process.stdin.on('error', finish);
`;

function killEverythingSync(): void {
  for (const g of groups) killQuietly(-g, 'SIGKILL');
  groups.clear();
  if (ownerToken !== undefined)
    for (const pid of markedProcesses(`${OWNER_VARIABLE}=${ownerToken}`, process.pid)) killQuietly(pid, 'SIGKILL');
}

/**
 * Sets up the safety net once per test process: marks this process's environment (inherited by
 * every child spawned from now on), starts the guard and the 'exit' handler. Call it before
 * spawning anything through code that does not use spawnOwned (e.g. the store's influxd starter).
 */
export function guardChildren(): void {
  if (guard !== undefined) return;
  ownerToken = `${process.pid}-${randomBytes(6).toString('hex')}`;
  process.env[OWNER_VARIABLE] = ownerToken;
  const guardEnv = { ...process.env };
  delete guardEnv[OWNER_VARIABLE];
  guard = spawn(process.execPath, ['-e', GUARD_SOURCE, `${OWNER_VARIABLE}=${ownerToken}`], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    env: guardEnv,
  });
  // The guard must neither keep this process alive nor die with its terminal's Ctrl-C before it swept.
  guard.unref();
  const pipe = guard.stdin as Socket | null;
  pipe?.unref();
  pipe?.on('error', () => {});
  process.on('exit', killEverythingSync);
}

function tellGuard(line: string): void {
  if (guard?.stdin?.writable) guard.stdin.write(`${line}\n`);
}

/**
 * A scratch directory (a rig's temp dir) removed by the guard after it killed this test process's
 * children, should the test process die before its own cleanup ran; `forget` once it removed it.
 */
export function removeWithTestProcess(dir: string): { forget(): void } {
  guardChildren();
  tellGuard(`d${dir}`);
  return { forget: () => tellGuard(`r${dir}`) };
}

/**
 * `spawn` for tests: the child leads its own process group, which is killed with the test process
 * however that ends. Use signalGroup / stopGroup to stop it (and whatever it started).
 */
export function spawnOwned(command: string, args: readonly string[], options?: SpawnOptionsWithoutStdio): ChildProcessWithoutNullStreams;
export function spawnOwned(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<StdioNull, StdioPipe, StdioPipe>,
): ChildProcessByStdio<null, Readable, Readable>;
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  guardChildren();
  const child = spawn(command, args, { ...options, detached: true });
  const pid = child.pid;
  if (pid !== undefined) {
    groups.add(pid);
    tellGuard(`+${pid}`);
    child.once('exit', () => {
      // The leader is gone: its pid (= the group id) may be reused. Stragglers still carry the marker.
      groups.delete(pid);
      tellGuard(`-${pid}`);
    });
  }
  return child;
}

/** Sends `signal` to the child's whole process group (the child itself if it leads none). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (groups.has(child.pid)) killQuietly(-child.pid, signal);
  else child.kill(signal);
}

/**
 * Stops the child's group with `signal` and waits for the child's exit; SIGKILLs the group after
 * `graceMs` if it is still running then. Resolves with the exit code (null when killed by a signal).
 */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number | null> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const group = child.pid;
  signalGroup(child, signal);
  const bound = signal === 'SIGKILL' ? undefined : setTimeout(() => killQuietly(-group, 'SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(bound);
  return code;
}
