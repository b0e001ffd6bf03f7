import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './mqtt-load';
import { runJsonChild } from './run-child';

const SCRIPT = fileURLToPath(new URL('./mqtt-load.ts', import.meta.url));

/** Runs the MQTT load generator in a child process and returns its result. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return runJsonChild(SCRIPT, spec, 'load generator');
}
