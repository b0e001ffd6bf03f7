import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnOwned, stopGroup } from './children';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** everything written to stdout and stderr so far (last 200 kB) */
  output(): string;
  /** Resolves when a line matching `pattern` has been printed (searching what came before too). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGKILL (the child's whole process group), then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (or `signal`) to its process group, then wait for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/**
 * Runs one of the repository's TypeScript entry points (path from the repository root) in its own
 * Node process, as a deployment would run the built command: fault tests kill and restart it.
 */
export function startTsChild(entry: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningChild {
  const child = spawnOwned(process.execPath, ['--conditions=source', '--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out = (out + d.toString('utf8')).slice(-200_000);
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`${entry}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${out.slice(-3_000)}`)),
        timeoutMs,
      );
      const check = () => {
        const m = out.split('\n').find((l) => pattern.test(l));
        if (m !== undefined) {
          clearTimeout(deadline);
          resolve(m);
        } else if (child.exitCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`${entry} exited (${child.exitCode}) before printing ${pattern}; output:\n${out.slice(-3_000)}`));
        } else waiters.push(check);
      };
      check();
    });
  return {
    process: child,
    pid: child.pid ?? -1,
    output: () => out,
    waitForLine,
    exited,
    async kill() {
      await stopGroup(child, 'SIGKILL');
      await exited;
    },
    stop: (signal = 'SIGTERM', timeoutMs = 15_000) => stopGroup(child, signal, timeoutMs),
  };
}
