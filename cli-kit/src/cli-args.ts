// Command-line plumbing shared by the server commands (poste-broker, poste-dashboard, poste-cloud).
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { pino, type Logger } from 'pino';

/** A wrong command line: the CLI prints it with the usage text and exits 2. */
export class UsageError extends Error {}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}
export const stdio: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

export type ArgValues = Record<string, string | boolean | undefined>;

export function need(values: ArgValues, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`missing --${name}`);
  return v;
}

export function optional(values: ArgValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function parsePort(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535)
    throw new UsageError(`${flag} must be a port number 0-65535, got ${JSON.stringify(raw)}`);
  return n;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The dashboard API has no authentication yet: anyone who reaches it reads fleet and energy
 * figures. Listening beyond loopback must therefore be asked for explicitly.
 */
export function checkPublicReads(host: string, publicReads: boolean): void {
  if (!isLoopback(host) && !publicReads) {
    throw new UsageError(
      `--host ${host} is not a loopback address and the dashboard API has no authentication yet; add --public-reads to serve its figures to anyone who can reach ${host}, or put it behind an authenticating reverse proxy on 127.0.0.1`,
    );
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A pino logger at POSTE_LOG_LEVEL (read by the caller from the environment). */
export function cliLogger(name: string, level: string | undefined, fallback: string): Logger {
  const l = level === undefined || level === '' ? fallback : level;
  if (!LOG_LEVELS.includes(l)) throw new UsageError(`POSTE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(l)}`);
  return pino({ name, level: l });
}

/** A secret kept in a file: its first line, without the line break. */
export async function readSecretFile(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} from ${file}: ${(err as Error).message}`);
  }
  const secret = text.split(/\r?\n/)[0] ?? '';
  if (secret === '') throw new Error(`${file} is empty; put ${what} on its first line`);
  return secret;
}

/** Resolves with the name of the first SIGINT/SIGTERM; a second one exits at once (130). */
export function untilStopSignal(io: Io): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (signal: string) => {
      if (seen) {
        io.err(`${signal} again: exiting without a clean stop`);
        process.exit(130);
      }
      seen = true;
      resolve(signal);
    };
    process.on('SIGINT', () => on('SIGINT'));
    process.on('SIGTERM', () => on('SIGTERM'));
  });
}
