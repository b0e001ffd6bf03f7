#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startAgent, type Agent } from './core/agent';
import { loadAgentConfig } from './core/config-file';

/** Exit codes: documented in agent/README.md so supervisors (systemd, procd) can tell them apart. */
const EXIT = { ok: 0, failure: 1, usage: 2, config: 3 } as const;

const HELP = `poste-agent — Poste gateway agent

Usage: poste-agent --config <file.json> [--log-level <level>]

Options:
  -c, --config <file>     JSON config (see agent/README.md: configVersion, gatewayId, north, adapters, ...)
  -l, --log-level <lvl>   fatal|error|warn|info|debug|trace|silent (overrides the file)
  -h, --help              this text

Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 runtime failure, 2 usage error, 3 invalid config.
`;

async function main(argv: string[]): Promise<number> {
  let values: { config?: string | undefined; 'log-level'?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string', short: 'l' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (!values.config) {
    process.stderr.write(`missing --config\n\n${HELP}`);
    return EXIT.usage;
  }
  const loaded = loadAgentConfig(values.config);
  if (!loaded.ok) {
    process.stderr.write(`invalid config: ${loaded.error}\n`);
    return EXIT.config;
  }
  const level = values['log-level'];
  const options = { ...loaded.options };
  if (level !== undefined) {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    const found = levels.find((l) => l === level);
    if (!found) {
      process.stderr.write(`invalid --log-level ${level}\n`);
      return EXIT.usage;
    }
    options.logLevel = found;
  }
  const logger = pino({ level: options.logLevel });
  // The file is not rewritten (it may be read-only on the gateway): say what was read differently.
  for (const note of loaded.migration.notes) {
    logger.warn(
      { file: values.config, from: loaded.migration.from, to: loaded.migration.to },
      `config file migrated in memory (${note}); update the file to configVersion ${loaded.migration.to} to silence this`,
    );
  }
  let agent: Agent;
  try {
    agent = await startAgent({ ...options, logger });
  } catch (err) {
    process.stderr.write(`agent failed to start: ${(err as Error).message}\n`);
    return EXIT.failure;
  }
  const running = agent;
  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      running.stop().then(
        () => resolve(EXIT.ok),
        () => resolve(EXIT.failure),
      );
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
