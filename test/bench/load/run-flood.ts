import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FloodResult, FloodSpec } from './api-flood';

const SCRIPT = fileURLToPath(new URL('./api-flood.ts', import.meta.url));

/** Runs the API flood in a child process (it stops after spec.durationMs) and returns its counts. */
export function runFlood(spec: FloodSpec): Promise<FloodResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', SCRIPT, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`api flood exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as FloodResult);
    });
  });
}
