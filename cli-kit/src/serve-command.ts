import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type ArgValues, type Io, UsageError } from './cli-args';

export interface ServeCommandSpec {
  /** the command's name in messages, e.g. poste-cloud */
  name: string;
  usage: string;
  /** its flags (`--help` is added) */
  options: NonNullable<ParseArgsConfig['options']>;
  /** runs `serve` with the parsed flags; resolves to the exit code once stopped */
  serve(values: ArgValues): Promise<number>;
}

/**
 * The shape every server command shares: `NAME serve [flags]`, `--help` (exit 0), no command (usage
 * on stderr, exit 2), a wrong flag or value (`UsageError`, exit 2, with a pointer to --help), any
 * other failure (its message, exit 1).
 */
export async function runServeCommand(argv: string[], io: Io, spec: ServeCommandSpec): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      (command === undefined ? io.err : io.out)(spec.usage);
      return command === undefined ? 2 : 0;
    }
    const { values } = parseArgs({ args: rest, options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      io.out(spec.usage);
      return 0;
    }
    if (command !== 'serve') throw new UsageError(`unknown command ${JSON.stringify(command)} (the only command is serve)`);
    return await spec.serve(values);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${spec.name}: ${(err as Error).message}\n\nRun ${spec.name} --help for usage.`);
      return 2;
    }
    io.err(`${spec.name}: ${(err as Error).message}`);
    return 1;
  }
}
