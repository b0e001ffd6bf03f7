import type { ParseArgsConfig } from 'node:util';
import type { ArgValues, Io } from '@poste/cli-kit';
import type { ProgressSink } from './progress';

/** What a command gets besides its flags: where to print, where bars go, the POSTE_ settings cli.ts read. */
export interface CommandContext {
  io: Io;
  progress: ProgressSink;
  /** POSTE_* variables read by the entry point (commands never read the environment themselves) */
  env: { apiToken?: string | undefined; brokerPassword?: string | undefined };
}

export interface Command {
  name: string;
  /** one line for the overview */
  summary: string;
  /** the full `--help` text of this command */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: ArgValues & Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number>;
}
