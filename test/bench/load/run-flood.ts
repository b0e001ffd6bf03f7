import { fileURLToPath } from 'node:url';
import type { FloodResult, FloodSpec } from './api-flood';
import { runJsonChild } from './run-child';

const SCRIPT = fileURLToPath(new URL('./api-flood.ts', import.meta.url));

/** Runs the API flood in a child process (it stops after spec.durationMs) and returns its counts. */
export function runFlood(spec: FloodSpec): Promise<FloodResult> {
  return runJsonChild(SCRIPT, spec, 'api flood');
}
