#!/usr/bin/env node
// poste-firmware: the technician CLI — signed images, flashing, provisioning, gateway checks and
// staged rollouts. Exit codes: cli/exit-codes.ts, documented in firmware-bridge/README.md.
import { parseArgs } from 'node:util';
import { type Io, runIfEntryPoint, stdio, UsageError } from '@poste/cli-kit';
import type { Command, CommandContext } from './cli/command';
import { CliError, EXIT } from './cli/exit-codes';
import { flashCommand, keygenCommand, signCommand, verifyCommand } from './cli/image-commands';
import { stderrProgress } from './cli/progress';
import { rolloutCommand } from './cli/rollout-command';
import { checkCommand } from './gateway/check-command';
import { provisionCommand } from './provision/provision-command';

const COMMANDS: readonly Command[] = [
  keygenCommand,
  signCommand,
  verifyCommand,
  flashCommand,
  provisionCommand,
  checkCommand,
  rolloutCommand,
];
const ALIASES: Record<string, string> = { 'verify-gateway': 'check' };

export const USAGE = `poste-firmware — technician CLI: signed firmware images, flashing, provisioning, gateway checks

Usage: poste-firmware COMMAND [flags]     (poste-firmware COMMAND --help for its flags)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(15)}${c.summary}`).join('\n')}

Exit codes: 0 ok · 1 check failed (signature, hash, model, read-back, gateway not healthy, rollout stopped)
            2 usage error · 3 file error (unreadable, unwritable, malformed key or manifest file)
            4 wrong target or not enough space · 5 exists (key, gateway id; never overwritten without --force)
            6 broker or cloud API unreachable or refusing`;

/** Runs one command line; resolves to the exit code. */
export async function main(
  argv: string[],
  io: Io = stdio,
  ctx: Omit<CommandContext, 'io'> = { progress: stderrProgress, env: {} },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === (ALIASES[name] ?? name));
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.out(command.usage);
      return EXIT.ok;
    }
    return await command.run(values as Parameters<Command['run']>[0], positionals, { ...ctx, io });
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`poste-firmware: ${(err as Error).message}\n\n${command?.usage ?? USAGE}`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      io.err(`poste-firmware: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

runIfEntryPoint(import.meta.url, 'poste-firmware', (argv) =>
  main(argv, stdio, {
    progress: stderrProgress,
    env: { apiToken: process.env.POSTE_API_TOKEN, brokerPassword: process.env.POSTE_BROKER_PASSWORD },
  }),
);
