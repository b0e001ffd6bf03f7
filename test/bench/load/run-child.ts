import { spawn } from 'node:child_process';

/**
 * Runs a load script (a TypeScript file taking one JSON argument) in its own Node process, apart
 * from the server it loads, and resolves to the JSON of the last line it prints.
 */
export function runJsonChild<Spec, Result>(script: string, spec: Spec, what: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${what} exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Result);
    });
  });
}
