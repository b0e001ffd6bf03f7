import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { FilePersistence, type FilePersistenceOptions } from './file-persistence';

/** A logger that keeps what it was told, to assert on warnings. */
export function recordingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (chunk: string) => lines.push(JSON.parse(chunk) as Record<string, unknown>) });
  return { logger, lines };
}

export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** An opened persistence, the way Aedes opens it (setup with a broker carrying id and counter). */
export async function openPersistence(
  dir: string,
  options: Partial<FilePersistenceOptions> = {},
  brokerId = 'broker-test',
): Promise<FilePersistence> {
  const persistence = new FilePersistence({ logger: pino({ level: 'silent' }), ...options, dir });
  await persistence.setup({ id: brokerId, counter: 0 });
  return persistence;
}

export async function readAll<T>(stream: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item as T);
  return out;
}
