#!/usr/bin/env node
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { AGENT_VERSION, startAgent, type Agent } from './core/agent';
import { loadAgentConfig } from './core/config-file';
import { otaExtension } from './extensions/ota';
import { healthProbes, selfUpdaterFromArgs } from './extensions/ota/self/cli-wiring';

/** Exit codes: documented in agent/README.md so supervisors (systemd, procd) can tell them apart. */
const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, restart: 75 } as const;

const HELP = `poste-agent — Poste gateway agent

Usage: poste-agent --config <file.json> [--log-level <level>] [--ota-trust <pem>] [--ota-model <model>]

Options:
  -c, --config <file>     JSON config (see agent/README.md: configVersion, gatewayId, north, adapters, ...)
  -l, --log-level <lvl>   fatal|error|warn|info|debug|trace|silent (overrides the file)
  --ota-trust <pem>       public keys trusted to sign updates of this agent (family gateway-agent)
  --ota-model <model>     this gateway's model, as updates of the agent name it (e.g. debian, openwrt)
  --slots, --slot, --trial-ms   set by poste-agent-launcher (A/B slots; see agent/packaging/README.md)
  --version               print the version and exit
  -h, --help              this text

Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 runtime failure, 2 usage error, 3 invalid config,
75 restarting into an updated (or rolled back) bundle: the supervisor starts it again.
`;

async function main(argv: string[]): Promise<number> {
  let values: {
    config?: string | undefined;
    'log-level'?: string | undefined;
    help?: boolean | undefined;
    version?: boolean | undefined;
    slots?: string | undefined;
    slot?: string | undefined;
    'trial-ms'?: string | undefined;
    'ota-trust'?: string | undefined;
    'ota-model'?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string', short: 'l' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        slots: { type: 'string' },
        slot: { type: 'string' },
        'trial-ms': { type: 'string' },
        'ota-trust': { type: 'string' },
        'ota-model': { type: 'string' },
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
  if (values.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
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
  // A self-update (or its rollback) ends this run; the supervisor starts the launcher again.
  let requestRestart: (reason: string) => void = () => {};
  const self = selfUpdaterFromArgs(values, logger, (reason) => requestRestart(reason));
  if (!self.ok) {
    process.stderr.write(`${self.error}\n`);
    return EXIT.usage;
  }
  const ota = otaExtension({
    ...(options.dataDir ? { dir: join(options.dataDir, 'ota') } : {}),
    ...(self.updater ? { self: self.updater } : {}),
  });
  let agent: Agent;
  try {
    agent = await startAgent({ ...options, logger, extensions: [ota] });
  } catch (err) {
    process.stderr.write(`agent failed to start: ${(err as Error).message}\n`);
    return EXIT.failure;
  }
  const running = agent;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (code: number): void => {
      if (stopping) return;
      stopping = true;
      running.stop().then(
        () => resolve(code),
        () => resolve(EXIT.failure),
      );
    };
    requestRestart = (reason) => {
      logger.warn({ reason }, 'restarting');
      setImmediate(() => shutdown(EXIT.restart));
    };
    process.once('SIGINT', () => shutdown(EXIT.ok));
    process.once('SIGTERM', () => shutdown(EXIT.ok));
    void self.updater?.runTrial(healthProbes(running, options.adapters));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
